// The param_schemas dispatches name by hash: filled from the schema topic, waited for when a dispatch outruns its schema.

/** Why a referenced schema could not be had. */
export class SchemaUnavailable extends Error {
  constructor(
    readonly ref: string,
    readonly waitedMs: number,
  ) {
    super(`param_schema ${ref} did not arrive on the schema topic within ${waitedMs} ms`);
    this.name = 'SchemaUnavailable';
  }
}

/**
 * Schemas by hash (`sha256:<hex>`). Every schema ever published stays (the topic is compacted and
 * keeps them all; a worker holds what it read). The schema objects are kept as they were first
 * added, so the worker's SchemaCompiler finds their compiled validators by object identity, without
 * hashing or stringifying them per task.
 */
export class SchemaRefs {
  private readonly known = new Map<string, Record<string, unknown>>();
  private readonly waiters = new Map<string, Set<(schema: Record<string, unknown>) => void>>();

  /** How long `wait` waits at most (SCHEMA_WAIT_MS). */
  constructor(readonly waitMs: number) {}

  get size(): number {
    return this.known.size;
  }

  /** The schema named `ref`, if it has arrived. */
  get(ref: string): Record<string, unknown> | undefined {
    return this.known.get(ref);
  }

  /** Records a schema read from the topic (its hash already checked) and wakes who waits for it. */
  add(ref: string, schema: Record<string, unknown>): void {
    if (this.known.has(ref)) return;
    this.known.set(ref, schema);
    const waiting = this.waiters.get(ref);
    if (!waiting) return;
    this.waiters.delete(ref);
    for (const wake of waiting) wake(schema);
  }

  /**
   * The schema named `ref`: at once if known, else once it arrives. Rejects with SchemaUnavailable
   * after `waitMs`. Only the caller waits: other tasks go on meanwhile.
   */
  wait(ref: string, waitMs = this.waitMs): Promise<Record<string, unknown>> {
    const schema = this.known.get(ref);
    if (schema) return Promise.resolve(schema);
    return new Promise((resolve, reject) => {
      let waiting = this.waiters.get(ref);
      if (!waiting) this.waiters.set(ref, (waiting = new Set()));
      const set = waiting;
      const wake = (s: Record<string, unknown>): void => {
        clearTimeout(timer);
        resolve(s);
      };
      const timer = setTimeout(() => {
        set.delete(wake);
        if (set.size === 0 && this.waiters.get(ref) === set) this.waiters.delete(ref);
        reject(new SchemaUnavailable(ref, waitMs));
      }, waitMs);
      set.add(wake);
    });
  }
}
