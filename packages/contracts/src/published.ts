// The Kafka message schemas as published in docs/schemas/: file name -> JSON text, one source for
// the export script and the test that keeps the checked-in files current.
import {
  controlMessageSchema,
  dispatchMessageSchema,
  heartbeatMessageSchema,
  resultMessageSchema,
  schemaMessageSchema,
} from './messages.js';

/** draft-07: what the decoders' ajv (its default) compiles these schemas as. */
const DIALECT = 'http://json-schema.org/draft-07/schema#';

export const MESSAGE_SCHEMAS = {
  'dispatch.v1.json': dispatchMessageSchema,
  'result.v1.json': resultMessageSchema,
  'heartbeat.v1.json': heartbeatMessageSchema,
  'control.v1.json': controlMessageSchema,
  'schema.v1.json': schemaMessageSchema,
} as const;

/** Each message schema as the text of its docs/schemas file (TypeBox's symbol keys do not serialise). */
export function publishedMessageSchemas(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(MESSAGE_SCHEMAS).map(([file, schema]) => [
      file,
      `${JSON.stringify({ $schema: DIALECT, ...schema }, null, 2)}\n`,
    ]),
  );
}
