// Schema references: the hash a dispatch names its template's param_schema by, and the outbox rows that publish each schema to the schema topic.
import { DEFAULT_TOPICS } from '@taskwire/contracts';
import type { SchemaMessage } from '@taskwire/contracts';
import { schemaRef } from '@taskwire/json-schema';
import type { OutboxRecord, StoreOps } from '../store/types.js';
import type { DomainDeps } from './deps.js';

/**
 * Hashes by schema object: a template object is read once per batch and its schema is dispatched
 * for every task of it, so the canonical JSON and sha-256 are computed once per object, not per task.
 */
const refs = new WeakMap<object, string>();

/** `sha256:<hex>` of `schema`'s canonical JSON, cached per schema object. */
export function paramSchemaRef(schema: Record<string, unknown>): string {
  let ref = refs.get(schema);
  if (ref === undefined) {
    ref = schemaRef(schema);
    refs.set(schema, ref);
  }
  return ref;
}

/**
 * The outbox row that publishes `schema` on the schema topic (TASK_SCHEMA_TOPIC), keyed by its
 * hash. Writing it again is harmless: the same key always carries the same value, and compaction
 * keeps one copy.
 */
export function schemaOutboxRow(
  schema: Record<string, unknown>,
  now: Date,
  topic: string = DEFAULT_TOPICS.schemas,
): OutboxRecord {
  const hash = paramSchemaRef(schema);
  const message: SchemaMessage = { v: 1, hash, param_schema: schema };
  return { topic, key: hash, payload: JSON.stringify(message), createdAt: now };
}

/**
 * Writes one schema row per distinct param_schema of the live templates (idempotent; run at
 * start). Templates created before dispatches named schemas by hash, and any schema message a
 * broker lost, are published this way. Several replicas starting at once write the same rows:
 * harmless, each key's value is always the same. Returns how many rows were written.
 */
export async function publishTemplateSchemas(
  deps: Pick<DomainDeps, 'store' | 'clock' | 'settings' | 'signals' | 'logger'>,
): Promise<number> {
  const now = deps.clock.now();
  const count = await deps.store.unitOfWork(async (tx: StoreOps) => {
    const rows = new Map<string, OutboxRecord>();
    for (const t of await tx.listTemplates()) {
      if (!t.paramSchema) continue;
      const row = schemaOutboxRow(t.paramSchema, now, deps.settings.schemaTopic);
      rows.set(row.key, row);
    }
    if (rows.size > 0) await tx.insertOutbox([...rows.values()]);
    return rows.size;
  });
  if (count > 0) deps.signals.outboxWritten();
  deps.logger.info({ schemas: count }, 'published the param_schemas of the templates');
  return count;
}
