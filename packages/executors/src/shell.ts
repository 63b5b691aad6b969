// The shell executor: runs an allowlisted program (argv, no shell) with an empty environment (opt-in).
import { spawn } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import { basename, isAbsolute, join, normalize } from 'node:path';
import { defineExecutor, ExecutorError } from '@taskwire/executor-sdk';
import type { CreateExecutors, Executor } from '@taskwire/executor-sdk';

export interface ShellParams {
  /** Program and arguments; never interpreted by a shell. The program must be allowlisted. */
  argv: string[];
  cwd?: string;
  /** The child's environment besides PATH: only keys in WORKER_SHELL_ENV. */
  env?: Record<string, string>;
  timeout_ms?: number;
}

export interface ShellResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  /** Present (true) when stdout or stderr was cut at SHELL_OUTPUT_LIMIT bytes. */
  truncated?: boolean;
}

export interface ShellExecutorOptions {
  /** Program names (found on SHELL_PATH) or absolute paths that may run (WORKER_SHELL_PROGRAMS). */
  programs?: readonly string[];
  /** Environment keys a task may set for its program (WORKER_SHELL_ENV). */
  env?: readonly string[];
}

/** The only PATH a program sees, and where program names are looked up: never the worker's own. */
export const SHELL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Upper bound of `timeout_ms` (a day): below the 2^31−1 ms at which Node's timers overflow to 1 ms. */
export const SHELL_MAX_TIMEOUT_MS = 86_400_000;

/**
 * Keys that change how programs load or start (the dynamic loader, interpreters' start-up hooks):
 * never passed, even when WORKER_SHELL_ENV lists them.
 */
const FORBIDDEN_ENV = new Set([
  'PATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'IFS',
  'GCONV_PATH',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PYTHONHOME',
  'PERL5LIB',
  'PERL5OPT',
  'PERLLIB',
  'RUBYOPT',
  'RUBYLIB',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
]);
const FORBIDDEN_ENV_PREFIXES = ['LD_', 'DYLD_'];
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROGRAM_NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;

const isForbiddenEnv = (key: string): boolean =>
  FORBIDDEN_ENV.has(key.toUpperCase()) || FORBIDDEN_ENV_PREFIXES.some((p) => key.toUpperCase().startsWith(p));

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await fs.access(path, constants.X_OK);
    return (await fs.stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The absolute path of a program name on SHELL_PATH, like execvp but with the fixed PATH. */
async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of SHELL_PATH.split(':')) {
    const path = join(dir, name);
    if (await isExecutableFile(path)) return path;
  }
  return undefined;
}

/** Which programs may run and which env keys may pass; checked once at start-up. */
class ShellPolicy {
  private readonly names = new Set<string>();
  private readonly paths = new Set<string>();
  private readonly envKeys = new Set<string>();

  constructor(options: ShellExecutorOptions) {
    for (const raw of options.programs ?? []) {
      const entry = raw.trim();
      if (entry === '') continue;
      if (isAbsolute(entry)) this.paths.add(normalize(entry));
      else if (PROGRAM_NAME.test(entry)) this.names.add(entry);
      else {
        throw new Error(
          `WORKER_SHELL_PROGRAMS: ${JSON.stringify(raw)} must be a program name (looked up on ${SHELL_PATH}) or an absolute path`,
        );
      }
    }
    for (const raw of options.env ?? []) {
      const key = raw.trim();
      if (key === '') continue;
      if (!ENV_KEY.test(key))
        throw new Error(`WORKER_SHELL_ENV: ${JSON.stringify(raw)} is not an environment key`);
      if (isForbiddenEnv(key)) {
        throw new Error(
          `WORKER_SHELL_ENV: ${key} can never be passed to a program (it changes how programs load)`,
        );
      }
      this.envKeys.add(key);
    }
  }

  get empty(): boolean {
    return this.names.size === 0 && this.paths.size === 0;
  }

  private allowed(): string {
    return this.empty
      ? 'WORKER_SHELL_PROGRAMS is empty: no program may run'
      : `allowed: ${[...this.names, ...this.paths].join(', ')}`;
  }

  /** The absolute path to spawn for argv[0], or a non-retryable refusal. */
  async program(file: string): Promise<string> {
    const refuse = (why: string): ExecutorError =>
      new ExecutorError(`shell: program ${JSON.stringify(file)} ${why}`, {
        retryable: false,
        code: 'program_refused',
      });
    if (isAbsolute(file)) {
      const path = normalize(file);
      if (this.paths.has(path)) return path;
      // An absolute path is also fine when it is exactly where an allowed name is found.
      const name = basename(path);
      if (this.names.has(name) && (await findOnPath(name)) === path) return path;
      throw refuse(`is not in WORKER_SHELL_PROGRAMS (${this.allowed()})`);
    }
    if (!this.names.has(file)) {
      const why = file.includes('/')
        ? 'is a relative path; only names and absolute paths can be allowed'
        : '';
      throw refuse(`is not in WORKER_SHELL_PROGRAMS (${why || this.allowed()})`);
    }
    const path = await findOnPath(file);
    if (path === undefined) throw refuse(`is allowed but not found on ${SHELL_PATH}`);
    return path;
  }

  /** PATH plus the task's allowed keys; any other key refuses the task (non-retryably). */
  env(given: Record<string, string> | undefined): Record<string, string> {
    const env: Record<string, string> = { PATH: SHELL_PATH };
    for (const [key, value] of Object.entries(given ?? {})) {
      const refuse = (why: string): ExecutorError =>
        new ExecutorError(`shell: env ${key} ${why}`, { retryable: false, code: 'env_refused' });
      if (isForbiddenEnv(key))
        throw refuse('can never be passed to a program (it changes how programs load)');
      if (!this.envKeys.has(key)) {
        const allowed =
          this.envKeys.size === 0 ? 'WORKER_SHELL_ENV is empty' : `allowed: ${[...this.envKeys].join(', ')}`;
        throw refuse(`is not in WORKER_SHELL_ENV (${allowed})`);
      }
      env[key] = value;
    }
    return env;
  }
}

/** Bytes kept of each of stdout and stderr; the rest is dropped (the process still runs to the end). */
export const SHELL_OUTPUT_LIMIT = 256 * 1024;

/** Time between SIGTERM and SIGKILL when the task is aborted. */
const KILL_GRACE_MS = 2000;

class Capped {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  push(chunk: Buffer): void {
    const room = SHELL_OUTPUT_LIMIT - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    if (chunk.length > room) this.truncated = true;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Builds the shell executor with its allowlists: only `programs` run, with an environment of
 * SHELL_PATH plus the task's `env` keys that `env` allows. Throws at start-up on a bad entry.
 */
export function createShellExecutor(options: ShellExecutorOptions = {}): Executor<ShellParams, ShellResult> {
  const policy = new ShellPolicy(options);
  return defineExecutor<ShellParams, ShellResult>({
    name: 'shell',
    description: 'Runs a program (argv, no shell) and returns { exit_code, stdout, stderr }',
    paramsSchema: {
      type: 'object',
      required: ['argv'],
      properties: {
        argv: { type: 'array', minItems: 1, items: { type: 'string' } },
        cwd: { type: 'string' },
        env: { type: 'object', additionalProperties: { type: 'string' } },
        timeout_ms: { type: 'integer', minimum: 1, maximum: SHELL_MAX_TIMEOUT_MS },
      },
    },
    async run({ params, signal }) {
      const [file, ...args] = params.argv as [string, ...string[]];
      const program = await policy.program(file);
      const env = policy.env(params.env);
      const timeoutMs =
        params.timeout_ms === undefined
          ? undefined
          : Math.min(Math.max(params.timeout_ms, 1), SHELL_MAX_TIMEOUT_MS);
      return new Promise<ShellResult>((resolve, reject) => {
        const what = `shell ${JSON.stringify(file)}`;
        const child = spawn(program, args, {
          shell: false,
          argv0: file,
          cwd: params.cwd,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const stdout = new Capped();
        const stderr = new Capped();
        child.stdout.on('data', (c: Buffer) => stdout.push(c));
        child.stderr.on('data', (c: Buffer) => stderr.push(c));

        let stopReason: string | undefined;
        let killTimer: NodeJS.Timeout | undefined;
        const stop = (reason: string): void => {
          if (stopReason !== undefined) return;
          stopReason = reason;
          child.kill('SIGTERM');
          killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
          killTimer.unref();
        };
        const onAbort = (): void => stop(`aborted: ${String(signal.reason ?? 'aborted')}`);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
        const ownTimer =
          timeoutMs === undefined
            ? undefined
            : setTimeout(() => stop(`timed out after ${timeoutMs} ms`), timeoutMs);

        const cleanup = (): void => {
          signal.removeEventListener('abort', onAbort);
          if (ownTimer) clearTimeout(ownTimer);
          if (killTimer) clearTimeout(killTimer);
        };
        child.once('error', (err: NodeJS.ErrnoException) => {
          cleanup();
          // ENOENT/EACCES: the program is missing or not executable; no retry fixes that.
          const permanent = err.code === 'ENOENT' || err.code === 'EACCES';
          const message = `${what} could not start: ${err.message}`;
          reject(permanent ? ExecutorError.nonRetryable(message) : ExecutorError.retryable(message));
        });
        child.once('close', (code, sig) => {
          cleanup();
          const result: ShellResult = { exit_code: code ?? -1, stdout: stdout.text(), stderr: stderr.text() };
          if (stdout.truncated || stderr.truncated) result.truncated = true;
          if (stopReason !== undefined) {
            return reject(
              ExecutorError.retryable(`${what} ${stopReason} (killed by ${sig ?? 'exit'})`, result),
            );
          }
          if (code === 0) return resolve(result);
          const how = code === null ? `was killed by ${sig}` : `exited with code ${code}`;
          const err = ExecutorError.retryable(`${what} ${how}`, result);
          reject(err);
        });
      });
    },
  });
}

/** The shell executor of a worker without WORKER_SHELL_PROGRAMS: it refuses every program. */
export const shellExecutor = createShellExecutor();

/** The worker builds the shell executor with its allowlists (WORKER_SHELL_PROGRAMS, WORKER_SHELL_ENV). */
export const createExecutors: CreateExecutors = (options) =>
  createShellExecutor({ programs: options.shellPrograms, env: options.shellEnv });

/** The plugin default export of `@taskwire/executors/shell` (loaded only with WORKER_ALLOW_SHELL=1). */
export default shellExecutor;
