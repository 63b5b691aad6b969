// Public entry of @taskwire/testkit: fixtures for integration tests (MariaDB database, SQLite file, broker).
export * from './mysql.js';
export * from './sqlite.js';
// The dev-broker fixture (a broker per test on a free port).
export * from './broker.js';
