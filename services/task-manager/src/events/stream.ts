// One subscriber's event sequence: replay from the database after Last-Event-ID, then the live
// fan-out, with no gap and no duplicate across the switch.
//
// Order matters: subscribe first (the hub buffers everything past its horizon H from that moment),
// then replay (lastEventId, H] from the database — every id ≤ H is committed or given up by then —
// then drain the buffer, skipping what the client already has. Ids only increase on the wire.
import type { Store, StreamEventRecord } from '../store/types.js';
import type { EventHub, SubscriberFilter } from './hub.js';

const REPLAY_PAGE = 500;

export interface EventStreamOptions {
  store: Pick<Store, 'listEventsAfter'>;
  hub: EventHub;
  filter: SubscriberFilter;
  /** Resume after this id (Last-Event-ID); undefined: live events only. */
  lastEventId?: number;
}

export interface EventStream {
  /** Batches of events in id order; ends when closed (see `closedBy`). */
  batches: AsyncGenerator<StreamEventRecord[], void>;
  closedBy(): 'overflow' | 'closed' | undefined;
  close(): void;
}

export async function openEventStream(opts: EventStreamOptions): Promise<EventStream> {
  const sub = await opts.hub.subscribe(opts.filter);
  async function* batches(): AsyncGenerator<StreamEventRecord[], void> {
    let last = opts.lastEventId ?? sub.horizon;
    try {
      while (last < sub.horizon && !sub.closedBy) {
        const page = await opts.store.listEventsAfter(last, REPLAY_PAGE, {
          ...opts.filter,
          upTo: sub.horizon,
        });
        if (page.length > 0) {
          last = page[page.length - 1]!.id;
          yield page;
        }
        if (page.length < REPLAY_PAGE) break;
      }
      for (;;) {
        const live = await sub.next();
        if (live.length === 0) return;
        const fresh = live.filter((e) => e.id > last);
        if (fresh.length === 0) continue;
        last = fresh[fresh.length - 1]!.id;
        yield fresh;
      }
    } finally {
      sub.close();
    }
  }
  return {
    batches: batches(),
    closedBy: () => sub.closedBy,
    close: () => sub.close(),
  };
}
