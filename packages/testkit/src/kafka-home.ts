// Owns finding the real Apache Kafka launcher (../shared/kafka beside the repository) and Java, and saying what is missing.
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where real Kafka can be started from, or why it cannot. */
export type KafkaHome =
  { ok: true; dir: string; kafkaUp: string; kafkaDown: string } | { ok: false; missing: string };

/** The directory holding pnpm-workspace.yaml above `from` (this file's directory by default). */
export function findRepoRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no pnpm-workspace.yaml above ${from}`);
  }
}

/**
 * Candidate kafka directories, in order: TASKWIRE_KAFKA_HOME, `<repo>/../shared/kafka` (how CI
 * clones it), and for a `git worktree` the same path beside its main checkout, because a worktree
 * lives elsewhere but shares the main checkout's neighbours.
 */
function candidates(repoRoot: string): string[] {
  const out: string[] = [];
  if (process.env.TASKWIRE_KAFKA_HOME) out.push(path.resolve(process.env.TASKWIRE_KAFKA_HOME));
  out.push(path.resolve(repoRoot, '../shared/kafka'));
  const dotGit = path.join(repoRoot, '.git');
  try {
    if (statSync(dotGit).isFile()) {
      const gitDir = path.resolve(
        repoRoot,
        readFileSync(dotGit, 'utf8')
          .replace(/^gitdir:\s*/, '')
          .trim(),
      );
      const common = path.resolve(gitDir, readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim());
      out.push(path.resolve(path.dirname(common), '../shared/kafka'));
    }
  } catch {
    // Not a worktree (or an unusual layout): the first candidates are all there is.
  }
  return out;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function javaOnPath(): boolean {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir !== '' && executable(path.join(dir, 'java')));
}

/** Finds kafka-up/kafka-down and Java; `missing` says what is absent and where it was looked for. */
export function locateKafka(repoRoot = findRepoRoot()): KafkaHome {
  const tried = candidates(repoRoot);
  const dir = tried.find((d) => executable(path.join(d, 'kafka-up')));
  if (!dir) {
    return {
      ok: false,
      missing: `the real Kafka launcher kafka-up was not found (looked in ${tried.join(', ')}; clone shared/ beside the repository or set TASKWIRE_KAFKA_HOME)`,
    };
  }
  if (!javaOnPath()) {
    return { ok: false, missing: `Java is not on PATH (kafka-up in ${dir} needs Java 11+)` };
  }
  return { ok: true, dir, kafkaUp: path.join(dir, 'kafka-up'), kafkaDown: path.join(dir, 'kafka-down') };
}
