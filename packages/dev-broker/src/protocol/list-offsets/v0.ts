// Owns the ListOffsets v0 codec: the pre-KIP-79 form with a list of offsets and no timestamps.
/*
 * ListOffsets Request (Version: 0) => replica_id [topics]
 *   replica_id => INT32
 *   topics => topic STRING [partitions]
 *     partitions => partition INT32 timestamp INT64 max_num_offsets INT32
 * ListOffsets Response (Version: 0) => [responses]
 *   responses => topic STRING [partition_responses]
 *     partition_responses => partition INT32 error_code INT16 [old_style_offsets INT64]
 * timestamp -1 is the log end, -2 the log start; any other value asks for segment base offsets
 * before it, which this broker answers with the first offset at or after it (one offset at most).
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import type { ListOffsetsRequest, ListOffsetsResponse } from './v3.js';

export function decodeListOffsetsRequestV0(r: Reader): ListOffsetsRequest {
  r.int32(); // replica_id
  const topics = r.array((r) => ({
    name: r.string(),
    partitions: r.array((r) => {
      const partition = r.int32();
      const timestamp = r.int64();
      r.int32(); // max_num_offsets: a single offset is always enough for a client
      return { partition, timestamp };
    }),
  }));
  return { topics };
}

export function encodeListOffsetsResponseV0(w: Writer, res: ListOffsetsResponse): void {
  w.array(res.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => {
      w.int32(p.partition).int16(p.errorCode);
      if (p.offset < 0) w.int32(0);
      else w.int32(1).int64(p.offset);
    });
  });
}
