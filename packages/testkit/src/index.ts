// Public entry of @taskwire/testkit: fixtures for integration tests (MariaDB database, SQLite file, broker).
export * from './mysql.js';
export * from './sqlite.js';
// The broker fixture: the dev broker or real Apache Kafka, one per test file on a free port.
export * from './broker.js';
export * from './real-kafka.js';
export * from './kafka-home.js';
export * from './kafka-clients.js';
