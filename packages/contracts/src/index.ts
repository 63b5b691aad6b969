// Public entry of @taskwire/contracts: statuses, topics, error codes, message schemas and validators.
export * from './statuses.js';
export * from './topics.js';
export * from './errors.js';
export * from './messages.js';
export * from './validate.js';
export * from './api.js';
