// Runs the store contract suite on a fresh MariaDB/MySQL database per store.
import { openTestStore } from '../testing/stores.js';
import { storeContract } from './contract.js';

storeContract('mysql', () => openTestStore('mysql'));
