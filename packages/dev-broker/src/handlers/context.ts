// Owns the types shared by request handlers: the broker's state and one client connection.
import type { Logger } from 'pino';
import type { GroupCoordinator } from '../groups/coordinator.js';
import type { OffsetStore } from '../groups/offset-store.js';
import type { LogManager } from '../log/log-manager.js';
import type { ResolvedOptions } from '../options.js';
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';

export interface BrokerContext {
  options: ResolvedOptions;
  logs: LogManager;
  groups: GroupCoordinator;
  offsets: OffsetStore;
  logger: Logger;
  nodeId: number;
  /** Advertised address, set once the socket is bound. */
  host: string;
  port: number;
  nextProducerId: number;
}

export interface Connection {
  id: number;
  clientId: string;
  clientHost: string;
  closed: boolean;
  /** Run once when the socket closes: parked fetches release their timers and waiters. */
  readonly onClose: Set<() => void>;
}

/** Returned by a handler that must not answer (Produce with acks=0). */
export const NO_RESPONSE = Symbol('no-response');

export type HandlerResult = void | Promise<void> | typeof NO_RESPONSE;

/** Decodes the body from r and encodes the response body into w (now or when the promise settles). */
export type Handler = (
  ctx: BrokerContext,
  conn: Connection,
  r: Reader,
  w: Writer,
  version: number,
) => HandlerResult;
