// Owns the ApiVersions codec (v0-v2; v0 lacks throttle_time_ms), the first request every client sends.
/*
 * ApiVersions Request (Version: 0-2) => (empty)
 * ApiVersions Response (Version: 1-2) => error_code [api_versions] throttle_time_ms
 *   error_code => INT16
 *   api_versions => api_key min_version max_version   (INT16 each)
 *   throttle_time_ms => INT32
 * Version 0 omits throttle_time_ms. A request for an unsupported version is answered in the v0
 * format with UNSUPPORTED_VERSION, as Kafka does, so the client can retry with a lower version.
 */
import type { Writer } from '../writer.js';

export interface ApiVersionsResponse {
  errorCode: number;
  apiVersions: ReadonlyArray<readonly [apiKey: number, min: number, max: number]>;
}

export function encodeApiVersionsResponse(w: Writer, version: number, res: ApiVersionsResponse): void {
  w.int16(res.errorCode);
  w.array(res.apiVersions, (w, [key, min, max]) => w.int16(key).int16(min).int16(max));
  if (version >= 1) w.int32(0);
}
