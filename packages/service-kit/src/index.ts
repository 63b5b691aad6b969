// Public entry of @taskwire/service-kit: what both services share to load config, log and reach Kafka.
export { ConfigError, EnvCheck, readEnv, splitList, deepFreeze } from './env.js';
export type { EnvSchema, EnvVarSchema, EnvValues } from './env.js';
export { redactValue } from './redact.js';
export { LOG_LEVELS, SESSION_TIMEOUT_RANGE, SHARED_VARS, parseBrokers, sessionTimeoutVar } from './vars.js';
export type { LogLevel } from './vars.js';
export { createLogger, dsnPassword, maskSecrets } from './logger.js';
export type { Logger, LoggerOptions } from './logger.js';
export { kafkaBrokerConfig, kafkaLogCreator, kafkaLogLevel } from './kafka.js';
export type { KafkaLogOptions } from './kafka.js';
export { KeyPartitioner, partitionForKey } from './partitioner.js';
