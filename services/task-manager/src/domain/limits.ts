// Size caps on what users and workers put in tasks (params, results, errors): checked before anything is stored.
import { AppError } from './errors.js';

/** Bytes of compact JSON each part of a task may take; each refusal names its variable. */
export interface PayloadLimits {
  /** MAX_PARAMS_BYTES: a task's params after merging the template's default_params. */
  paramsBytes: number;
  /** MAX_RESULT_BYTES: a task's result (PUT /tasks/{id}, or from a worker). */
  resultBytes: number;
  /** MAX_ERROR_BYTES: a task's error (PUT /tasks/{id}, or from a worker). */
  errorBytes: number;
}

export const DEFAULT_PAYLOAD_LIMITS: PayloadLimits = {
  paramsBytes: 256 * 1024,
  resultBytes: 256 * 1024,
  errorBytes: 64 * 1024,
};

const VARIABLE: Record<keyof PayloadLimits, string> = {
  paramsBytes: 'MAX_PARAMS_BYTES',
  resultBytes: 'MAX_RESULT_BYTES',
  errorBytes: 'MAX_ERROR_BYTES',
};

/** Size of `value` as compact JSON in UTF-8 (0 for undefined). */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  if (text === undefined) return 0;
  return Buffer.byteLength(text);
}

/**
 * Throws a 413 `payload_too_large` naming `field`, its size and the limit (with the variable that
 * sets it) when `value` is larger than `limits[which]`.
 */
export function assertWithinLimit(
  field: string,
  value: unknown,
  limits: PayloadLimits,
  which: keyof PayloadLimits,
): void {
  const limit = limits[which];
  const bytes = jsonBytes(value);
  if (bytes <= limit) return;
  throw new AppError(
    'payload_too_large',
    `${field} is ${bytes} bytes of JSON, more than the ${limit} bytes allowed (${VARIABLE[which]})`,
    [
      {
        path: `/${field}`,
        message: `must be at most ${limit} bytes of JSON`,
        bytes,
        limit,
        variable: VARIABLE[which],
      },
    ],
  );
}
