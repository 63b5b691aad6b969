// The shell executor: runs argv without a shell (opt-in: workers load it only with WORKER_ALLOW_SHELL=1).
import { spawn } from 'node:child_process';
import { defineExecutor, ExecutorError } from '@taskwire/executor-sdk';

export interface ShellParams {
  /** Program and arguments; never interpreted by a shell. */
  argv: string[];
  cwd?: string;
  /** Added to (and overriding) the worker's environment. */
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

export const shellExecutor = defineExecutor<ShellParams, ShellResult>({
  name: 'shell',
  description: 'Runs a program (argv, no shell) and returns { exit_code, stdout, stderr }',
  paramsSchema: {
    type: 'object',
    required: ['argv'],
    properties: {
      argv: { type: 'array', minItems: 1, items: { type: 'string' } },
      cwd: { type: 'string' },
      env: { type: 'object', additionalProperties: { type: 'string' } },
      timeout_ms: { type: 'integer', minimum: 1 },
    },
  },
  run: ({ params, signal }) =>
    new Promise<ShellResult>((resolve, reject) => {
      const [file, ...args] = params.argv as [string, ...string[]];
      const what = `shell ${JSON.stringify(file)}`;
      const child = spawn(file, args, {
        shell: false,
        cwd: params.cwd,
        env: params.env ? { ...process.env, ...params.env } : process.env,
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
        params.timeout_ms === undefined
          ? undefined
          : setTimeout(() => stop(`timed out after ${params.timeout_ms} ms`), params.timeout_ms);

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
    }),
});

/** The plugin default export of `@taskwire/executors/shell` (loaded only with WORKER_ALLOW_SHELL=1). */
export default shellExecutor;
