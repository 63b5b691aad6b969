// Dispatches Kafka cannot carry: their tasks fail for good (message_too_large) and the relay moves on.
import type { DispatchMessage, WireError } from '@taskwire/contracts';
import type { OutboxRecord, TaskEventRecord, TaskRecord } from '../store/types.js';
import type { DomainDeps } from './deps.js';
import { failForGood } from './dispatch.js';
import { onTasksEnded, signalStepEffects } from './workflow-advance.js';

/** An outbox row Kafka cannot take (larger than the message size limit), and why. */
export interface UndeliverableRow {
  row: OutboxRecord;
  /** Size of the message in bytes, as the relay measured it. */
  bytes: number;
  /** The limit it broke (KAFKA_MAX_MESSAGE_BYTES); null when the broker refused it (its limit is unknown here). */
  limit: number | null;
  /** What refused it: `KAFKA_MAX_MESSAGE_BYTES`, or the broker's error type (MESSAGE_TOO_LARGE…). */
  refusedBy: string;
}

/**
 * Fails the tasks whose dispatch message cannot be delivered and marks their outbox rows done so
 * the relay never retries them: the same bytes would be refused again and, retried, would hold
 * back every dispatch behind them. The attempt's status becomes FAILED (not retried: a new attempt
 * would carry the same message) with error code `message_too_large` and a `failed` event. A row
 * whose task has moved on (canceled, another attempt) or that is not a dispatch is only marked.
 */
export async function failUndeliverable(
  deps: Pick<DomainDeps, 'store' | 'clock' | 'logger'> &
    Partial<Pick<DomainDeps, 'settings' | 'signals' | 'schemas'>>,
  rows: readonly UndeliverableRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const now = deps.clock.now();
  const { failed, effects } = await deps.store.unitOfWork(async (tx) => {
    let failed = 0;
    const events: TaskEventRecord[] = [];
    const finished: TaskRecord[] = [];
    for (const { row, bytes, limit, refusedBy } of rows) {
      const attempt = dispatchAttempt(row);
      const task = attempt === null ? null : await tx.getTask(row.key);
      const error: WireError = {
        message:
          limit === null
            ? `the dispatch message of task ${row.key} (${bytes} bytes) was refused by Kafka as too large ` +
              `(${refusedBy}): the broker's message.max.bytes is lower; make its params or param_schema smaller`
            : `the dispatch message of task ${row.key} is ${bytes} bytes, more than the ${limit} bytes ` +
              `allowed (${refusedBy}); make its params or its template's param_schema smaller`,
        code: 'message_too_large',
        retryable: false,
        data: { bytes, limit, refused_by: refusedBy, topic: row.topic },
      };
      deps.logger.warn(
        { taskId: row.key, attempt, topic: row.topic, bytes, limit, refusedBy },
        'outbox message too large for Kafka; its task fails and the relay moves on',
      );
      if (!task || task.status !== 'QUEUED' || task.attempt !== attempt) continue;
      const event = await failForGood(tx, task, error, now);
      if (!event) continue;
      failed++;
      events.push(event);
      finished.push({ ...task, status: 'FAILED', error, finishedAt: now, updatedAt: now });
    }
    if (events.length > 0) await tx.insertEvents(events);
    await tx.markOutboxSent(
      rows.map((r) => r.row.id as number),
      now,
    );
    // Failed workflow steps are followed up (dependants, fail_fast) when the domain settings are given.
    const { settings } = deps;
    const effects = settings ? await onTasksEnded(tx, { ...deps, settings }, finished) : null;
    return { failed, effects };
  });
  if (deps.signals) signalStepEffects(deps.signals, effects);
  return failed;
}

/** The attempt a dispatch row announces, or null when the row is not a dispatch message. */
function dispatchAttempt(row: OutboxRecord): number | null {
  try {
    const parsed = JSON.parse(row.payload) as Partial<DispatchMessage>;
    return parsed.task_id === row.key && typeof parsed.attempt === 'number' && 'executor' in parsed
      ? parsed.attempt
      : null;
  } catch {
    return null;
  }
}
