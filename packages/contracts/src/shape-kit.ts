// TypeBox helpers for the shapes of contracts: JSON Schema forms TypeBox has no builder for.
import { Type } from '@sinclair/typebox';
import type { TSchema, TUnion, TNull, TUnsafe } from '@sinclair/typebox';

export { Type };
export type { Static, TSchema } from '@sinclair/typebox';

/**
 * `{"enum": [...]}` typed as the union of its values. TypeBox's own union of literals renders as
 * `anyOf` of `const`s, which would change ajv's error messages (and so decoders' reasons and 422
 * details) from "must be equal to one of the allowed values".
 */
export function Enum<const T extends readonly (string | number | null)[]>(
  values: T,
  options: Record<string, unknown> = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, enum: [...values] });
}

/** `{"const": value}` alone (TypeBox's Literal adds a `type`, and with it a second error). */
export function Const<const T extends string | number | boolean>(value: T): TUnsafe<T> {
  return Type.Unsafe<T>({ const: value });
}

/** `anyOf: [T, null]`: a value of T or null. */
export function Nullable<T extends TSchema>(schema: T): TUnion<[T, TNull]> {
  return Type.Union([schema, Type.Null()]);
}

/**
 * A schema written as plain JSON Schema (a `type` list, or keywords on a union), typed as T. Used
 * where TypeBox would render the same constraint as another, wordier, schema with other errors.
 */
export function Raw<T>(schema: Record<string, unknown>): TUnsafe<T> {
  return Type.Unsafe<T>(schema);
}

/** An ISO 8601 date-time string as the API renders times. */
export const DateTime = Type.String({ format: 'date-time' });
/** The same, or null. */
export const DateTimeOrNull = Raw<string | null>({ type: ['string', 'null'], format: 'date-time' });
export const StringOrNull = Raw<string | null>({ type: ['string', 'null'] });
/** A JSON object (a user's schema or params), or null. */
export const ObjectOrNull = Raw<Record<string, unknown> | null>({ type: ['object', 'null'] });
