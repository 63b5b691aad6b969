// Splits batch writes into statements that stay under the driver's limits (bound variables, packet size).

/**
 * Consecutive slices of at most `maxRows` rows; with `sizeOf`, a slice also stops before its
 * estimated bytes pass `maxBytes` (a single larger row still goes alone).
 */
export function chunk<T>(
  rows: readonly T[],
  maxRows: number,
  sizeOf?: (row: T) => number,
  maxBytes = Number.POSITIVE_INFINITY,
): T[][] {
  if (rows.length <= maxRows && sizeOf === undefined) return [rows.slice()];
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = sizeOf ? sizeOf(row) : 0;
    if (current.length > 0 && (current.length >= maxRows || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
