// Priorities and concurrency keys of tasks: the default priority, JSON Pointer checks and key extraction.

/** A task's priority when neither it nor its template sets one (0–9, higher first). */
export const DEFAULT_PRIORITY = 5;

/** RFC 6901: empty, or `/`-separated tokens where `~` only appears as `~0` or `~1`. */
export function isJsonPointer(p: string): boolean {
  return p === '' || /^(\/([^~]|~[01])*)+$/.test(p);
}

/** The value at `pointer` in `doc`, or undefined when the path does not exist. */
export function resolvePointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let at: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(at)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      at = at[Number(token)];
    } else if (at !== null && typeof at === 'object' && Object.prototype.hasOwnProperty.call(at, token)) {
      at = (at as Record<string, unknown>)[token];
    } else return undefined;
  }
  return at;
}

/** Longest key kept (the column is 255 characters). */
const MAX_KEY = 255;

/**
 * The concurrency key of a task: its explicit key, else the value its template's pointer selects
 * in the params (strings as they are, other JSON as JSON text); null when neither gives one (a
 * pointer to a missing or null value leaves the task unkeyed). Keys longer than 255 characters
 * are cut (two keys equal in their first 255 characters share a limit).
 */
export function concurrencyKeyOf(
  explicit: string | undefined,
  pointer: string | null,
  params: unknown,
): string | null {
  if (explicit !== undefined) return explicit.slice(0, MAX_KEY);
  if (pointer === null) return null;
  const value = resolvePointer(params, pointer);
  if (value === undefined || value === null) return null;
  return (typeof value === 'string' ? value : JSON.stringify(value)).slice(0, MAX_KEY);
}
