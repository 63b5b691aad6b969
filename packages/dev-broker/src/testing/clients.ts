// Owns finding the non-kafkajs clients of the client-matrix tests (kcat, confluent-kafka, Kafka's Java tools) and running them.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateKafka } from '@taskwire/testkit';
import type { TestContext } from 'vitest';

/** A client the matrix drives, or why it cannot run. */
export type ClientTool = { ok: true; bin: string } | { ok: false; missing: string };

const here = path.dirname(fileURLToPath(import.meta.url));
/** Debian's interpreter: python3-confluent-kafka installs into /usr/lib/python3/dist-packages. */
const SYSTEM_PYTHON = '/usr/bin/python3';
export const CONFLUENT_SCRIPT = path.join(here, 'confluent_client.py');

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return null;
}

export function locateKcat(): ClientTool {
  const bin = onPath('kcat') ?? onPath('kafkacat');
  return bin ? { ok: true, bin } : { ok: false, missing: 'kcat (apt-get install kcat)' };
}

/** Checked once by importing the module, so a broken install is reported as missing too. */
export async function locateConfluentKafka(): Promise<ClientTool> {
  const missing = 'python3-confluent-kafka for /usr/bin/python3 (apt-get install python3-confluent-kafka)';
  if (!existsSync(SYSTEM_PYTHON)) return { ok: false, missing };
  const ok = await new Promise<boolean>((resolve) =>
    execFile(SYSTEM_PYTHON, ['-c', 'import confluent_kafka'], (err) => resolve(!err)),
  );
  return ok ? { ok: true, bin: SYSTEM_PYTHON } : { ok: false, missing };
}

/** kafka-topics.sh of the Apache Kafka 2.4 distribution beside the repository (../shared/kafka/dist). */
export function locateKafkaTools(): ClientTool {
  const home = locateKafka();
  if (!home.ok) return { ok: false, missing: home.missing };
  const bin = path.join(home.dir, 'dist', 'bin', 'kafka-topics.sh');
  return existsSync(bin)
    ? { ok: true, bin }
    : { ok: false, missing: `Kafka's Java tools (${bin} does not exist)` };
}

/**
 * Gate of a client-matrix test: under CI a missing client fails the test naming it; elsewhere the
 * test is skipped with a loud line on stderr (never silently), as the real-Kafka suites do.
 */
export function requireClient<T extends ClientTool>(
  tool: T,
  ctx: TestContext,
): asserts tool is Extract<T, { ok: true }> {
  if (tool.ok) return;
  if (process.env.CI) throw new Error(`client-matrix test needs ${tool.missing}`);
  process.stderr.write(
    `\n!!! SKIPPED client-matrix test "${ctx.task.name}": ${tool.missing} is missing (CI fails instead) !!!\n\n`,
  );
  ctx.skip();
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (with optional stdin); never rejects, the caller asserts on the result. */
export function run(
  bin: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A hung client must not hang the suite; this bounds it, it does not assert on time.
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A long-running client whose stdout is one JSON object per line. */
export class JsonLinesProcess {
  readonly events: Array<Record<string, unknown>> = [];
  stderr = '';
  private readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;

  constructor(bin: string, args: string[]) {
    this.child = spawn(bin, args);
    let pending = '';
    this.child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.events.push(JSON.parse(line));
    });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  of(event: string): Array<Record<string, unknown>> {
    return this.events.filter((e) => e.event === event);
  }

  /** SIGTERM: the driver closes its consumer (leaving the group, committing) and exits. */
  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}
