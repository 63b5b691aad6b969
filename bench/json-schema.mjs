// Hostile users' JSON Schemas: API latency while they arrive, and memory after 20,000 distinct schemas.
// Usage: node bench/json-schema.mjs   (after `npm run build`; re-runs itself with --expose-gc);
// writes bench/results/json-schema.json.
// (a) A built manager on 127.0.0.1 (SQLite, Kafka off). One probe client sends GET /healthz and
//     POST /tasks (a cheap template) back to back; meanwhile an attacker loop sends, per phase:
//     nothing; POST /tasks against a `^(a+)+$` template with a 30-character param; POST /templates
//     with a distinct schema at SCHEMA_MAX_NODES each time (a full compile); a 323 KB schema (over
//     SCHEMA_MAX_BYTES). The probe's p50/p99/max per phase is the figure.
// (b) In this process: compile 20,000 distinct schemas with SchemaCompiler and, for comparison, with
//     one Ajv instance and removeSchema (what the manager did before), heap and RSS after a full GC.
// Env: BENCH_SECONDS (per phase, default 5), BENCH_SCHEMAS (default 20000).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './helpers.mjs';

if (typeof global.gc !== 'function') {
  const run = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
  });
  process.exit(run.status ?? 1);
}

const { Ajv } = await import('ajv');
const { DEFAULT_SCHEMA_LIMITS, SchemaCompiler } = await import('@taskwire/json-schema');

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, '..', 'services', 'task-manager', 'dist', 'main.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SCHEMAS = Number(process.env.BENCH_SCHEMAS ?? 20_000);
const MB = 1024 * 1024;

async function startManager(dir) {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      SERVER_ADDR: `127.0.0.1:${port}`,
      DB_TYPE: 'sqlite',
      DB_DSN: join(dir, 'bench.db'),
      KAFKA_ENABLED: '0',
      SCHEDULER_ENABLED: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`manager exited ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`manager not ready:\n${output}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function call(agent, port, method, path, body) {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const headers = payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {};
    const req = request({ agent, host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** A schema of about `nodes` JSON values, different for every `seed`. */
function schemaOf(seed, properties) {
  return {
    type: 'object',
    required: [`p0_${seed}`],
    properties: Object.fromEntries(
      Array.from({ length: properties }, (_, i) => [
        `p${i}_${seed}`,
        { type: 'string', minLength: 1, maxLength: 40, pattern: `^[a-z]{1,${(seed % 30) + 1}}$` },
      ]),
    ),
  };
}

async function latency(port) {
  const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const attackAgent = new Agent({ keepAlive: true, maxSockets: 4 });
  const mk = async (body) => {
    const res = await call(probeAgent, port, 'POST', '/templates', body);
    if (res.status !== 201) throw new Error(`template: ${res.status} ${res.body}`);
    return JSON.parse(res.body).id;
  };
  const cheap = await mk({ name: 'cheap', executor: 'echo', param_schema: { type: 'object' } });
  const redos = await mk({
    name: 'redos',
    executor: 'echo',
    param_schema: { type: 'object', properties: { s: { type: 'string', pattern: '^(a+)+$' } } },
  });
  // 323 KB, like the schema in the issue: refused on its size before any compile.
  const huge = schemaOf(0, 3000);
  huge.description = 'x'.repeat(Math.max(0, 323_000 - JSON.stringify(huge).length));
  // Just under SCHEMA_MAX_NODES: 5 values per property, 5 around them.
  const atLimitProps = Math.floor((DEFAULT_SCHEMA_LIMITS.maxNodes - 5) / 5);
  let seed = 0;
  const attacks = {
    none: null,
    redos_param_30_chars: () =>
      call(attackAgent, port, 'POST', '/tasks', {
        task_template_id: redos,
        params: { s: `${'a'.repeat(30)}!` },
      }),
    schema_at_node_limit: () =>
      call(attackAgent, port, 'POST', '/templates', {
        name: `big-${++seed}`,
        executor: 'echo',
        param_schema: schemaOf(seed, atLimitProps),
      }),
    schema_323kb: () =>
      call(attackAgent, port, 'POST', '/templates', {
        name: `huge-${++seed}`,
        executor: 'echo',
        param_schema: huge,
      }),
  };
  const phases = {};
  for (const [name, attack] of Object.entries(attacks)) {
    let stop = false;
    const attackStatuses = {};
    const attackMs = [];
    const attacker = async () => {
      while (!stop && attack) {
        const t0 = performance.now();
        const res = await attack();
        attackMs.push(performance.now() - t0);
        attackStatuses[res.status] = (attackStatuses[res.status] ?? 0) + 1;
      }
    };
    const probe = async () => {
      const ms = [];
      const end = Date.now() + SECONDS * 1000;
      let i = 0;
      while (Date.now() < end) {
        const t0 = performance.now();
        const res =
          i++ % 2 === 0
            ? await call(probeAgent, port, 'GET', '/healthz')
            : await call(probeAgent, port, 'POST', '/tasks', { task_template_id: cheap, params: {} });
        if (res.status >= 300) throw new Error(`probe: ${res.status} ${res.body}`);
        ms.push(performance.now() - t0);
      }
      stop = true;
      return ms;
    };
    const attackers = [attacker(), attacker()];
    const ms = (await probe()).sort((a, b) => a - b);
    await Promise.all(attackers);
    attackMs.sort((a, b) => a - b);
    phases[name] = {
      probe_requests: ms.length,
      probe_p50_ms: round(pct(ms, 0.5)),
      probe_p99_ms: round(pct(ms, 0.99)),
      probe_max_ms: round(ms.at(-1) ?? 0),
      attack_requests: attackMs.length,
      attack_statuses: attackStatuses,
      attack_p50_ms: round(pct(attackMs, 0.5)),
      attack_max_ms: round(attackMs.at(-1) ?? 0),
    };
    console.log(name, phases[name]);
  }
  probeAgent.destroy();
  attackAgent.destroy();
  return { at_limit_properties: atLimitProps, huge_bytes: JSON.stringify(huge).length, phases };
}

function memorySample(label, compiled) {
  global.gc();
  global.gc();
  const m = process.memoryUsage();
  return { label, compiled, heap_used_mb: round(m.heapUsed / MB, 1), rss_mb: round(m.rss / MB, 1) };
}

/** Compiles SCHEMAS distinct schemas through `compile`, sampling memory along the way. */
function memory(label, compile) {
  const samples = [memorySample(label, 0)];
  const t0 = performance.now();
  for (let i = 1; i <= SCHEMAS; i++) {
    compile(schemaOf(i, 3));
    if (i % (SCHEMAS / 4) === 0) samples.push(memorySample(label, i));
  }
  const seconds = (performance.now() - t0) / 1000;
  const out = { samples, compiles_per_s: Math.round(SCHEMAS / seconds) };
  console.log(label, out);
  return out;
}

/** What the manager did before: one Ajv per draft, a 1,000-entry cache, removeSchema on eviction. */
function ajvRemoveSchema() {
  const ajv = new Ajv({ allErrors: true, strict: false, addUsedSchema: false, logger: false });
  const cache = new Map();
  return (schema) => {
    cache.set(JSON.stringify(schema), { validate: ajv.compile(schema), schema });
    if (cache.size > 1000) {
      const [key, old] = cache.entries().next().value;
      cache.delete(key);
      ajv.removeSchema(old.schema);
    }
  };
}

function v8VersusRe2() {
  const out = {};
  for (const n of [20, 22, 24]) {
    const t0 = performance.now();
    /^(a+)+$/.test(`${'a'.repeat(n)}!`);
    out[`v8_${n}_chars_ms`] = round(performance.now() - t0);
  }
  const validate = new SchemaCompiler().compile({ type: 'string', pattern: '^(a+)+$' });
  validate('warm-up');
  for (const n of [30, 10_000]) {
    const t0 = performance.now();
    validate(`${'a'.repeat(n)}!`);
    out[`re2_${n}_chars_ms`] = round(performance.now() - t0, 3);
  }
  console.log('pattern ^(a+)+$ on a non-matching string', out);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'taskwire-bench-schema-'));
const manager = await startManager(dir);
let results;
try {
  results = {
    at: new Date().toISOString(),
    seconds_per_phase: SECONDS,
    limits: DEFAULT_SCHEMA_LIMITS,
    regex: v8VersusRe2(),
    latency: await latency(manager.port),
  };
} finally {
  await manager.stop();
  rmSync(dir, { recursive: true, force: true });
}
let compiler = new SchemaCompiler();
const withCompiler = { ...memory('SchemaCompiler', (s) => compiler.compile(s)), stats: compiler.stats() };
compiler = null; // measured from a clean heap: its own (bounded) cache would count against the next
results.memory = {
  schemas: SCHEMAS,
  schema_compiler: withCompiler,
  ajv_remove_schema: memory('one Ajv + removeSchema', ajvRemoveSchema()),
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'json-schema.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log('wrote bench/results/json-schema.json');
