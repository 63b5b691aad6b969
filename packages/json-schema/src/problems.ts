// ajv's errors as short { path, message } problems and one line, for task failures and logs.
import type { ErrorObject } from 'ajv';

export interface SchemaProblem {
  /** The JSON pointer of the offending value, "/" for the root. */
  path: string;
  message: string;
}

/** ajv errors as { path, message }. */
export function schemaProblems(errors: readonly ErrorObject[] | null | undefined): SchemaProblem[] {
  return (errors ?? []).map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'is invalid' }));
}

/** "/a must be string; / must have required property 'b'" */
export function formatProblems(problems: readonly SchemaProblem[]): string {
  return problems.map((p) => `${p.path} ${p.message}`).join('; ');
}
