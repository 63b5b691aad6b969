// Admission's round-robin over the heads of several concurrency keys: least-loaded key first, oldest head on ties.

/** One key's waiting heads, oldest first, and its tasks in flight (unkeyed: key null, load 0). */
export interface KeyHeads<H extends { id: string }> {
  key: string | null;
  load: number;
  heads: readonly H[];
}

/**
 * Takes up to `slots` heads, one per turn from the key with the fewest in flight (its takes so far
 * included; unkeyed heads count as load 0), the older head first between equal loads. A keyed head
 * whose `limitOf` is reached by its key's load stops that key: it lands in `stopped`. A binary heap
 * keeps a turn O(log keys), so a pass over hundreds of keys stays cheap.
 */
export function roundRobin<H extends { id: string }>(
  keys: readonly KeyHeads<H>[],
  slots: number,
  limitOf: (head: H) => number,
): { taken: H[]; stopped: Array<string | null> } {
  interface Entry {
    key: string | null;
    load: number;
    heads: readonly H[];
    i: number;
  }
  const before = (a: Entry, b: Entry) =>
    a.load < b.load || (a.load === b.load && a.heads[a.i]!.id < b.heads[b.i]!.id);
  const heap: Entry[] = [];
  const push = (e: Entry) => {
    heap.push(e);
    for (let c = heap.length - 1; c > 0;) {
      const p = (c - 1) >> 1;
      if (!before(heap[c]!, heap[p]!)) break;
      [heap[c], heap[p]] = [heap[p]!, heap[c]!];
      c = p;
    }
  };
  const pop = (): Entry => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let p = 0; ;) {
        const l = 2 * p + 1;
        const r = l + 1;
        let m = p;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === p) break;
        [heap[m], heap[p]] = [heap[p]!, heap[m]!];
        p = m;
      }
    }
    return top;
  };
  for (const k of keys) {
    if (k.heads.length > 0) push({ key: k.key, load: k.key === null ? 0 : k.load, heads: k.heads, i: 0 });
  }
  const taken: H[] = [];
  const stopped: Array<string | null> = [];
  while (taken.length < slots && heap.length > 0) {
    const e = pop();
    const head = e.heads[e.i]!;
    if (e.key !== null && e.load >= limitOf(head)) {
      stopped.push(e.key);
      continue;
    }
    taken.push(head);
    e.i++;
    if (e.key !== null) e.load++;
    if (e.i < e.heads.length) push(e);
  }
  return { taken, stopped };
}
