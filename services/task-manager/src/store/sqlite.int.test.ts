// Runs the store contract suite on a SQLite file (WAL) per store.
import { openTestStore } from '../testing/stores.js';
import { storeContract } from './contract.js';

storeContract('sqlite', () => openTestStore('sqlite'));
