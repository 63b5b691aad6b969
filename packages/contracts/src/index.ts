// Public entry of @taskwire/contracts: statuses, topics, error codes, every shape of the API and of
// the Kafka messages (JSON Schema + derived type), and the message validators.
export * from './statuses.js';
export * from './topics.js';
export * from './errors.js';
export * from './messages.js';
export * from './validate.js';
export * from './api.js';
export * from './requests.js';
export * from './published.js';
export type { Static, TSchema } from './shape-kit.js';
export * from './workflows.js';
export * from './workflow-spec.js';
