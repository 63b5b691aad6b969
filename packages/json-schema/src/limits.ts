// Size limits on a user schema (compact JSON bytes, nesting depth, node count), measured without
// recursion before anything else touches the schema, and its canonical JSON + content hash.
import { createHash } from 'node:crypto';
import { SchemaError } from './errors.js';

export interface SchemaLimits {
  /** Bytes of the schema as compact JSON (UTF-8). */
  maxBytes: number;
  /** Nesting depth of objects and arrays; the root object is depth 1. */
  maxDepth: number;
  /** JSON values in the schema: every object, array, string, number, boolean and null. */
  maxNodes: number;
}

/**
 * Compile time grows with the node count (ajv's code generation is ~50-150 µs per node on our
 * 2-core machine), so maxNodes is what bounds the time one schema can hold the event loop: about
 * 0.1-0.3 s at 2,000 (bench/json-schema.mjs). Hand-written param schemas have tens of nodes.
 */
export const DEFAULT_SCHEMA_LIMITS: Readonly<SchemaLimits> = Object.freeze({
  maxBytes: 65_536,
  maxDepth: 32,
  maxNodes: 2_000,
});

export interface SchemaSize {
  bytes: number;
  depth: number;
  nodes: number;
}

/**
 * The size of `value` as compact JSON, without recursion: a 1 MiB body of `[[[[…` is 500,000 levels
 * deep, which a recursive walk (or JSON.stringify) would not survive.
 */
export function measureSchema(value: unknown): SchemaSize {
  let bytes = 0;
  let depth = 0;
  let nodes = 0;
  // Two parallel stacks instead of [value, depth] pairs: this runs on every request body schema.
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop();
    const d = depths.pop()!;
    nodes++;
    if (v === null || typeof v !== 'object') {
      bytes += typeof v === 'string' ? stringBytes(v) : (JSON.stringify(v) ?? 'null').length;
      continue;
    }
    if (d > depth) depth = d;
    let members = 0;
    if (Array.isArray(v)) {
      for (const item of v) {
        values.push(item === undefined ? null : item);
        depths.push(d + 1);
        members++;
      }
    } else {
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined) continue;
        bytes += stringBytes(k) + 1;
        values.push(x);
        depths.push(d + 1);
        members++;
      }
    }
    bytes += 2 + Math.max(0, members - 1);
  }
  return { bytes, depth, nodes };
}

// Printable ASCII other than `"` and `\`: JSON writes it as is, one byte per character.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Bytes of `s` as a JSON string literal (UTF-8, quotes and escapes included). */
function stringBytes(s: string): number {
  return PLAIN.test(s) ? s.length + 2 : Buffer.byteLength(JSON.stringify(s));
}

/**
 * Throws SchemaError naming `field` and the limit it exceeds, checked in this order: bytes
 * (`too_large`), depth (`too_deep`), nodes (`too_many_nodes`).
 */
export function assertWithinLimits(schema: unknown, limits: SchemaLimits, field: string): SchemaSize {
  const size = measureSchema(schema);
  if (size.bytes > limits.maxBytes) {
    throw new SchemaError(
      'too_large',
      `${field} is ${size.bytes} bytes as JSON, over the limit of ${limits.maxBytes} (SCHEMA_MAX_BYTES)`,
      `/${field}`,
      { limit: limits.maxBytes, actual: size.bytes },
    );
  }
  if (size.depth > limits.maxDepth) {
    throw new SchemaError(
      'too_deep',
      `${field} nests ${size.depth} levels deep, over the limit of ${limits.maxDepth} (SCHEMA_MAX_DEPTH)`,
      `/${field}`,
      { limit: limits.maxDepth, actual: size.depth },
    );
  }
  if (size.nodes > limits.maxNodes) {
    throw new SchemaError(
      'too_many_nodes',
      `${field} has ${size.nodes} JSON values, over the limit of ${limits.maxNodes} (SCHEMA_MAX_NODES)`,
      `/${field}`,
      { limit: limits.maxNodes, actual: size.nodes },
    );
  }
  return size;
}

/** JSON with object keys sorted, so that key order does not make two equal schemas differ. Recursive: call it only on a schema within the depth limit. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** sha-256 (hex) of the canonical JSON: the cache key of a compiled schema. */
export function schemaHash(schema: unknown): string {
  return createHash('sha256').update(canonicalJson(schema)).digest('hex');
}

/**
 * The name a dispatch gives its param_schema on the wire (contracts' SCHEMA_REF_PREFIX + hash):
 * `sha256:<hex of the canonical JSON>`.
 */
export function schemaRef(schema: unknown): string {
  return `sha256:${schemaHash(schema)}`;
}
