// Default Kafka topic and group names, and the rule that maps a queue to its dispatch topic.

export const DEFAULT_TOPICS = {
  dispatch: 'task_execution_requests',
  results: 'task_results',
  control: 'task_control',
  heartbeats: 'task_worker_heartbeats',
  /** Compacted, 1 partition: every param_schema a dispatch names by hash (schema.v1). */
  schemas: 'taskwire.schemas',
} as const;

/**
 * How the schema topic is created, by whichever of manager and worker starts first: one partition,
 * compacted (each key's value never changes, so compaction keeps every schema a dispatch can name).
 */
export function schemaTopicSpec(topic: string): {
  topic: string;
  numPartitions: number;
  configEntries: Array<{ name: string; value: string }>;
} {
  return { topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] };
}

export const DEFAULT_GROUPS = {
  workers: 'task-worker-group',
  results: 'task-manager-results-group',
} as const;

export const DEFAULT_QUEUE = 'default';

/** Queue `default` uses the dispatch topic itself; any other queue `q` uses `<topic>.q`. */
export function dispatchTopicFor(dispatchTopic: string, queue: string): string {
  return queue === DEFAULT_QUEUE ? dispatchTopic : `${dispatchTopic}.${queue}`;
}

/** Messages that fail validation go to `<topic>.dlq` with the reason. */
export function dlqTopicFor(topic: string): string {
  return `${topic}.dlq`;
}

/** Names accepted for queues and executors: they end up in topic names and plugin lookups. */
export const NAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,63}$';
