// Validates docker-compose.yml and the Dockerfile (no Docker engine runs here): services, images,
// env wiring, health checks, and that the containers start the same entry points as `npm start`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, root), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; target: string };
  command?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  restart?: string;
}
const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service> };
const services = compose.services;
/** The V8 flags a service's package asks node for (`nodeArgs` in its package.json), if any. */
const nodeArgs = (name: string): string[] =>
  (JSON.parse(read(`services/${name}/package.json`)) as { nodeArgs?: string[] }).nodeArgs ?? [];
const svc = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

describe('docker-compose.yml', () => {
  it('defines kafka (KRaft), mysql 8, the manager and the workers', () => {
    expect(Object.keys(services).sort()).toEqual([
      'kafka',
      'kafka-init',
      'mysql',
      'task-manager',
      'task-worker',
    ]);
    expect(svc('kafka').image).toMatch(/^apache\/kafka:/);
    expect(svc('kafka').environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(svc('mysql').image).toMatch(/^mysql:8/);
  });

  it('gives every long-running service a health check', () => {
    for (const name of ['kafka', 'mysql', 'task-manager', 'task-worker']) {
      expect(svc(name).healthcheck?.test.length, name).toBeGreaterThan(0);
    }
    expect(svc('task-manager').healthcheck?.test.join(' ')).toContain('/readyz');
  });

  it('restarts every long-running service that stops, but not the one-shot topic creation', () => {
    for (const name of ['kafka', 'mysql', 'task-manager', 'task-worker']) {
      expect(['unless-stopped', 'always', 'on-failure'], name).toContain(svc(name).restart);
    }
    expect(svc('kafka-init').restart).toBe('no');
  });

  it("checks a worker's readiness on its HEALTH_ADDR, inside the container only", () => {
    const worker = svc('task-worker');
    const addr = String(worker.environment?.HEALTH_ADDR);
    expect(addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(worker.healthcheck?.test.join(' ')).toContain(`http://${addr}/readyz`);
    expect(worker.ports).toBeUndefined();
  });

  it('creates the four topics and their DLQs with 12 partitions before the services start', () => {
    const script = (svc('kafka-init') as { command: string[] }).command.join('\n');
    for (const t of ['task_execution_requests', 'task_results', 'task_control', 'task_worker_heartbeats']) {
      expect(script).toContain(t);
    }
    expect(script).toContain('--partitions 12');
    expect(script).toContain('$$t.dlq');
    expect(svc('task-manager').depends_on?.['kafka-init']?.condition).toBe('service_completed_successfully');
    expect(svc('task-worker').depends_on?.['kafka-init']?.condition).toBe('service_completed_successfully');
    expect(svc('task-manager').depends_on?.mysql?.condition).toBe('service_healthy');
  });

  it('wires the manager to MySQL and Kafka with the documented variables', () => {
    const env = svc('task-manager').environment ?? {};
    expect(env.DB_TYPE).toBe('mysql');
    expect(String(env.DB_DSN)).toMatch(/^mysql:\/\/taskwire:taskwire@mysql:3306\/taskwire$/);
    expect(env.KAFKA_BROKERS).toBe('kafka:9092');
    const mysqlEnv = svc('mysql').environment ?? {};
    expect(mysqlEnv.MYSQL_DATABASE).toBe('taskwire');
    expect(mysqlEnv.MYSQL_USER).toBe('taskwire');
    expect(mysqlEnv.MYSQL_PASSWORD).toBe('taskwire');
  });

  it('publishes the API on this host only and requires API_TOKENS, which only the manager gets', () => {
    const manager = svc('task-manager');
    expect(manager.ports).toEqual(['127.0.0.1:8080:8080']);
    // Inside the container the manager must listen beyond loopback, so it refuses to start without tokens.
    expect(manager.environment?.SERVER_ADDR).toBe('0.0.0.0:8080');
    expect(String(manager.environment?.API_TOKENS)).toMatch(/^\$\{API_TOKENS:\?[^}]*README[^}]*\}$/);
    expect(manager.environment?.AUTH_DISABLED).toBeUndefined();
    for (const name of Object.keys(services).filter((n) => n !== 'task-manager')) {
      const env = Object.keys(svc(name).environment ?? {});
      expect(
        env.filter((k) => k.startsWith('API_TOKENS') || k === 'AUTH_DISABLED'),
        name,
      ).toEqual([]);
      const published = (svc(name).ports ?? []).filter((p) => !p.startsWith('127.0.0.1:'));
      expect(published, name).toEqual([]);
    }
    // The health check uses a route that needs no token.
    expect(manager.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:8080/readyz');
  });

  it('keeps the workers scalable: no fixed name, port or worker id', () => {
    const worker = svc('task-worker') as Service & { container_name?: string };
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(worker.environment?.WORKER_ID).toBeUndefined();
    expect(worker.environment?.GROUP_ID).toBe('task-worker-group');
  });

  it('uses the same topic names in manager and workers', () => {
    const m = svc('task-manager').environment ?? {};
    const w = svc('task-worker').environment ?? {};
    for (const key of [
      'TASK_DISPATCH_TOPIC',
      'RESULT_TOPIC',
      'TASK_CONTROL_TOPIC',
      'WORKER_HEARTBEAT_TOPIC',
    ]) {
      expect(w[key], key).toBe(m[key]);
    }
  });

  it('starts the same entry points as the embedded stack (npm start)', () => {
    const start = read('scripts/start.mjs');
    expect(start).toContain('services/task-manager/dist/main.js');
    expect(start).toContain('services/task-worker/dist/main.js');
    for (const name of ['task-manager', 'task-worker']) {
      const s = svc(name);
      expect(s.build?.target).toBe(name);
      const pkg = JSON.parse(read(`services/${name}/package.json`)) as { main?: string };
      expect(s.command).toEqual(['node', ...nodeArgs(name), 'dist/main.js']);
      expect(pkg.main?.replace(/^\.\//, '')).toBe('dist/main.js');
    }
  });

  it("runs the worker with its package's nodeArgs wherever it is started", () => {
    const args = nodeArgs('task-worker');
    expect(args.length).toBeGreaterThan(0);
    const pkg = JSON.parse(read('services/task-worker/package.json')) as { scripts: { start: string } };
    expect(pkg.scripts.start).toBe(['node', ...args, 'dist/main.js'].join(' '));
    // npm start and the pipeline bench read the list from the package: the figures are the defaults.
    for (const script of ['scripts/start.mjs', 'bench/pipeline.mjs'])
      expect(read(script), script).toContain('workerNodeArgs');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  it('has a target per service that runs its dist/main.js', () => {
    for (const name of ['task-manager', 'task-worker']) {
      expect(dockerfile).toMatch(new RegExp(`FROM .* AS ${name}\\n`));
    }
    for (const name of ['task-manager', 'task-worker']) {
      const cmd = JSON.stringify(['node', ...nodeArgs(name), 'dist/main.js']).replaceAll(',', ', ');
      const stage = dockerfile.slice(dockerfile.indexOf(`AS ${name}\n`));
      expect(stage.slice(0, stage.indexOf('\nFROM ') >>> 0), name).toContain(`CMD ${cmd}`);
    }
  });
  it('installs with the pinned pnpm and a frozen lockfile', () => {
    const pinned = (JSON.parse(read('package.json')) as { packageManager: string }).packageManager;
    expect(dockerfile).toContain(`npx --yes ${pinned} install --frozen-lockfile`);
  });
  it('ships the migrations the manager applies at start-up', () => {
    expect(dockerfile).toContain('COPY --from=build /app/drizzle /drizzle');
  });
  it('builds and runs every stage on Node 24 LTS', () => {
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(bases).toHaveLength(3);
    for (const base of bases) expect(base).toMatch(/^node:24(-|$)/);
  });
});

describe('.dockerignore', () => {
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  it('keeps history, data, installs, builds, bench results, logs and env files out of the build context', () => {
    for (const entry of ['.git', '.data', '**/node_modules', '**/dist', 'bench/results', '*.log', '.env']) {
      expect(ignored, entry).toContain(entry);
    }
  });
});
