import { describe, expect, it } from 'vitest';
import { schemaRef } from '@taskwire/json-schema';
import { readSchemaMessage } from './schema-consumer.js';

describe('readSchemaMessage', () => {
  const schema = { type: 'object', required: ['to'] };

  it('takes a schema message whose param_schema hashes to its hash, whatever the key order', () => {
    const hash = schemaRef({ required: ['to'], type: 'object' });
    expect(readSchemaMessage(JSON.stringify({ v: 1, hash, param_schema: schema }))).toEqual({
      ok: true,
      hash,
      schema,
    });
  });

  it('refuses a schema message whose param_schema does not hash to its hash, naming both', () => {
    const claimed = schemaRef({ type: 'object' });
    const read = readSchemaMessage(JSON.stringify({ v: 1, hash: claimed, param_schema: schema }));
    expect(read).toEqual({
      ok: false,
      reason: `schema message ${claimed}: its param_schema hashes to ${schemaRef(schema)}`,
    });
  });

  it('refuses a message that is not a schema message', () => {
    expect(readSchemaMessage('{"v":1}')).toMatchObject({ ok: false });
    expect(readSchemaMessage(null)).toMatchObject({ ok: false });
  });
});
