// Owns the ApiVersions v3 codec: the flexible handshake librdkafka 2.x and Java clients 2.4+ open with.
/*
 * ApiVersions Request (Version: 3) => client_software_name client_software_version TAG_BUFFER
 *   client_software_name => COMPACT_STRING  client_software_version => COMPACT_STRING
 * ApiVersions Response (Version: 3) => error_code [api_keys] throttle_time_ms TAG_BUFFER
 *   error_code => INT16
 *   api_keys => api_key INT16 min_version INT16 max_version INT16 TAG_BUFFER   (COMPACT_ARRAY)
 *   throttle_time_ms => INT32
 * The response goes out with response header v0 (no tagged fields after the correlation id) even
 * though the version is flexible: a client must be able to read it before it knows the broker. The
 * tagged fields of the response (supported/finalized features) are left out: there are none.
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import type { ApiVersionsResponse } from './v2.js';

export interface ApiVersionsRequestV3 {
  clientSoftwareName: string;
  clientSoftwareVersion: string;
}

export function decodeApiVersionsRequestV3(r: Reader): ApiVersionsRequestV3 {
  const clientSoftwareName = r.compactString();
  const clientSoftwareVersion = r.compactString();
  r.skipTaggedFields();
  return { clientSoftwareName, clientSoftwareVersion };
}

export function encodeApiVersionsResponseV3(w: Writer, res: ApiVersionsResponse): void {
  w.int16(res.errorCode);
  w.compactArray(res.apiVersions, (w, [key, min, max]) => w.int16(key).int16(min).int16(max).noTags());
  w.int32(0).noTags();
}
