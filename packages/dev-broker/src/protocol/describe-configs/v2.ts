// Owns the DescribeConfigs v0-v2 codec (kafka-topics.sh --describe, kafka-configs.sh, admin clients).
/*
 * DescribeConfigs Request (Version: 0-2) => [resources] include_synonyms
 *   resources => resource_type INT8 resource_name STRING [configuration_keys STRING]   (keys nullable: all)
 *   include_synonyms => BOOLEAN   (v1+)
 * DescribeConfigs Response (Version: 0-2) => throttle_time_ms [results]
 *   results => error_code INT16 error_message NULLABLE_STRING resource_type INT8 resource_name STRING
 *              [configs]
 *     configs => name STRING value NULLABLE_STRING read_only BOOLEAN is_default BOOLEAN
 *                config_source INT8 is_sensitive BOOLEAN [synonyms]
 *       is_default: v0 only; config_source and synonyms: v1+
 *       synonyms => name STRING value NULLABLE_STRING source INT8
 * resource_type 2 is a topic, 4 a broker. config_source: 1 topic config, 4 static broker config,
 * 5 default.
 */
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export const ResourceType = { TOPIC: 2, BROKER: 4 } as const;
export const ConfigSource = { TOPIC: 1, STATIC_BROKER: 4, DEFAULT: 5 } as const;

export interface DescribeConfigsRequest {
  resources: Array<{ type: number; name: string; keys: string[] | null }>;
  includeSynonyms: boolean;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  source: number;
  synonyms: Array<{ name: string; value: string | null; source: number }>;
}

export interface DescribeConfigsResult {
  errorCode: number;
  message: string | null;
  type: number;
  name: string;
  configs: ConfigEntry[];
}

export function decodeDescribeConfigsRequest(r: Reader, version = 2): DescribeConfigsRequest {
  const resources = r.array((r) => ({
    type: r.int8(),
    name: r.string(),
    keys: r.nullableArray((r) => r.string()),
  }));
  return { resources, includeSynonyms: version >= 1 ? r.bool() : false };
}

export function encodeDescribeConfigsResponse(
  w: Writer,
  results: DescribeConfigsResult[],
  version = 2,
): void {
  w.int32(0);
  w.array(results, (w, res) => {
    w.int16(res.errorCode).nullableString(res.message).int8(res.type).string(res.name);
    w.array(res.configs, (w, c) => {
      w.string(c.name).nullableString(c.value).bool(c.readOnly);
      if (version === 0) w.bool(c.source === ConfigSource.DEFAULT);
      else w.int8(c.source);
      w.bool(false); // is_sensitive: no secrets here
      if (version >= 1) {
        w.array(c.synonyms, (w, s) => w.string(s.name).nullableString(s.value).int8(s.source));
      }
    });
  });
}
