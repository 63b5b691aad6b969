// Unit tests of finding ../shared/kafka and Java, and of the message when either is missing.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { locateKafka } from './kafka-home.js';

let root: string;
const saved = { PATH: process.env.PATH, TASKWIRE_KAFKA_HOME: process.env.TASKWIRE_KAFKA_HOME };

function executable(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'taskwire-kafkahome-'));
  delete process.env.TASKWIRE_KAFKA_HOME;
  executable(path.join(root, 'bin', 'java'));
  process.env.PATH = path.join(root, 'bin');
});

afterEach(() => {
  process.env.PATH = saved.PATH;
  if (saved.TASKWIRE_KAFKA_HOME === undefined) delete process.env.TASKWIRE_KAFKA_HOME;
  else process.env.TASKWIRE_KAFKA_HOME = saved.TASKWIRE_KAFKA_HOME;
  rmSync(root, { recursive: true, force: true });
});

describe('locateKafka', () => {
  it('finds kafka-up in ../shared/kafka beside the repository', () => {
    executable(path.join(root, 'shared/kafka/kafka-up'));
    expect(locateKafka(path.join(root, 'repo'))).toMatchObject({
      ok: true,
      kafkaUp: path.join(root, 'shared/kafka/kafka-up'),
      kafkaDown: path.join(root, 'shared/kafka/kafka-down'),
    });
  });

  it('finds it beside the main checkout when the repository is a git worktree', () => {
    executable(path.join(root, 'main/../shared/kafka/kafka-up'));
    const gitDir = path.join(root, 'main/.git/worktrees/wt');
    mkdirSync(gitDir, { recursive: true });
    writeFileSync(path.join(gitDir, 'commondir'), '../..\n');
    const worktree = path.join(root, 'elsewhere/deep/wt');
    mkdirSync(worktree, { recursive: true });
    writeFileSync(path.join(worktree, '.git'), `gitdir: ${gitDir}\n`);
    expect(locateKafka(worktree)).toMatchObject({
      ok: true,
      kafkaUp: path.join(root, 'shared/kafka/kafka-up'),
    });
  });

  it('says where it looked when kafka-up is missing', () => {
    const home = locateKafka(path.join(root, 'repo'));
    expect(home.ok).toBe(false);
    expect(home.ok ? '' : home.missing).toContain(
      `kafka-up was not found (looked in ${path.join(root, 'shared/kafka')}`,
    );
  });

  it('says Java is missing when it is not on PATH', () => {
    executable(path.join(root, 'shared/kafka/kafka-up'));
    process.env.PATH = path.join(root, 'nothing-here');
    const home = locateKafka(path.join(root, 'repo'));
    expect(home.ok ? '' : home.missing).toMatch(/^Java is not on PATH/);
  });

  it('prefers TASKWIRE_KAFKA_HOME', () => {
    executable(path.join(root, 'shared/kafka/kafka-up'));
    executable(path.join(root, 'custom/kafka-up'));
    process.env.TASKWIRE_KAFKA_HOME = path.join(root, 'custom');
    expect(locateKafka(path.join(root, 'repo'))).toMatchObject({ ok: true, dir: path.join(root, 'custom') });
  });
});
