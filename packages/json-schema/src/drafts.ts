// Which JSON Schema dialect a user schema asks for, and the one Ajv class per dialect.
import { Ajv } from 'ajv';
import type { Options } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { isLinearPattern, re2Engine } from './regexp.js';

export const DRAFTS = ['draft-07', '2019-09', '2020-12'] as const;
export type Draft = (typeof DRAFTS)[number];

/**
 * A schema without `$schema` is read as draft-07, in the manager and the worker alike: the
 * manager has always done so, and a template accepted under one dialect must run under the same.
 */
export const DEFAULT_DRAFT: Draft = 'draft-07';

/** The `$schema` URI each Ajv class knows its dialect by. */
export const META_SCHEMA_URI: Record<Draft, string> = {
  'draft-07': 'http://json-schema.org/draft-07/schema#',
  '2019-09': 'https://json-schema.org/draft/2019-09/schema',
  '2020-12': 'https://json-schema.org/draft/2020-12/schema',
};

/**
 * The dialect `uri` (a schema's `$schema`) names, `fallback` when absent, null when unsupported.
 * http/https and a trailing `#` are accepted alike; draft-06 is read as draft-07, its superset.
 */
export function draftOf(uri: unknown, fallback: Draft = DEFAULT_DRAFT): Draft | null {
  if (uri === undefined) return fallback;
  if (typeof uri !== 'string') return null;
  const m = /^https?:\/\/json-schema\.org\/(draft-0[67]|draft\/2019-09|draft\/2020-12)\/schema#?$/.exec(uri);
  if (!m) return null;
  if (m[1] === 'draft/2020-12') return '2020-12';
  if (m[1] === 'draft/2019-09') return '2019-09';
  return 'draft-07';
}

// ajv-formats is CommonJS: under NodeNext its default import is the module object on some setups.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

/**
 * allErrors: report every violation at once. strict: false: users' schemas may carry keywords ajv
 * does not know (`example`, vendor extensions). addUsedSchema: false: two templates may use the
 * same `$id` without clashing. logger: false: unknown formats are ignored quietly, not on stdout.
 * inlineRefs: false: ajv would otherwise paste a referenced schema's code at every `$ref`, so a
 * schema within the node limit could still generate code the size of nodes × refs.
 * code.regExp: every `pattern` and `patternProperties` runs on RE2 (linear time), not V8's RegExp.
 * code.optimize: false: ajv's pass over the generated code is most of the compile time of a large
 * schema (1.5-2x with it, measured at 2,000 nodes) and made no difference to validation speed.
 */
const OPTIONS: Options = {
  allErrors: true,
  strict: false,
  addUsedSchema: false,
  logger: false,
  inlineRefs: false,
  code: { regExp: re2Engine, optimize: false },
};

/** A fresh Ajv for `draft` with the formats of ajv-formats, `regex` checked by RE2's parser. */
export function newAjv(draft: Draft): Ajv {
  const ajv =
    draft === '2020-12'
      ? new Ajv2020(OPTIONS)
      : draft === '2019-09'
        ? new Ajv2019(OPTIONS)
        : new Ajv(OPTIONS);
  addFormats(ajv);
  // ajv-formats checks `regex` with `new RegExp`: a pattern V8 accepts but RE2 cannot run must be
  // refused by the meta-schema too (it checks `pattern` values with this format).
  ajv.addFormat('regex', isLinearPattern);
  return ajv;
}
