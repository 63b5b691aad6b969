// Owns the InitProducerId v1 codec (idempotent producers; transactional ids are refused).
/*
 * InitProducerId Request (Version: 0-1; v1 only changed throttling semantics) => transactional_id NULLABLE_STRING transaction_timeout_ms INT32
 * InitProducerId Response (Version: 0-1) => throttle_time_ms INT32 error_code INT16 producer_id INT64
 *                                         producer_epoch INT16
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface InitProducerIdRequest {
  transactionalId: string | null;
  transactionTimeoutMs: number;
}

export function decodeInitProducerIdRequest(r: Reader): InitProducerIdRequest {
  return { transactionalId: r.nullableString(), transactionTimeoutMs: r.int32() };
}

export function encodeInitProducerIdResponse(
  w: Writer,
  res: { errorCode: number; producerId: number; producerEpoch: number },
): void {
  w.int32(0).int16(res.errorCode).int64(res.producerId).int16(res.producerEpoch);
}
