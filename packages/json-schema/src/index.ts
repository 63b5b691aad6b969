// @taskwire/json-schema: the one compiler for users' JSON Schemas, shared by manager and worker.
export { SchemaCompiler } from './compiler.js';
export type { CompileResult, SchemaCompilerOptions, SchemaCompilerStats } from './compiler.js';
export { DEFAULT_DRAFT, DRAFTS, META_SCHEMA_URI, draftOf } from './drafts.js';
export type { Draft } from './drafts.js';
export { SchemaError } from './errors.js';
export type { SchemaErrorReason } from './errors.js';
export { DEFAULT_SCHEMA_LIMITS, canonicalJson, measureSchema, schemaHash, schemaRef } from './limits.js';
export type { SchemaLimits, SchemaSize } from './limits.js';
export { isLinearPattern } from './regexp.js';
export type { ErrorObject, ValidateFunction } from 'ajv';
export { formatProblems, schemaProblems } from './problems.js';
export type { SchemaProblem } from './problems.js';
