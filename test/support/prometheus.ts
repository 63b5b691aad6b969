// Reading a Prometheus exposition in tests: checked by parse-prometheus-text-format, samples read line by line.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { PromFamily } from 'parse-prometheus-text-format';

export interface Sample {
  /** The sample's own name: `x_total`, `x_seconds_count`, `x_seconds_bucket`… */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Families as parse-prometheus-text-format returns them (name, help, type). */
  families: Map<string, PromFamily>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;

/**
 * Parses the text with parse-prometheus-text-format (it throws on a malformed line), and reads
 * every sample line itself: that parser merges the series of a labelled histogram into one, so
 * counts by label are read from the `_count` lines here.
 */
export function parseExposition(text: string): Exposition {
  const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    for (let l = LABEL.exec(m[2] ?? ''); l; l = LABEL.exec(m[2] ?? '')) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { families, samples };
}

function matches(sample: Sample, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
}

/**
 * The sum over the samples of `name` whose labels include `labels` (0 when none): a counter's or
 * gauge's value, or a histogram's observation count (its `_count` samples).
 */
export function total(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const type = exposition.families.get(name)?.type;
  const sampleName = type === 'HISTOGRAM' ? `${name}_count` : name;
  return samples(exposition, sampleName, labels).reduce((sum, s) => sum + s.value, 0);
}

/** The samples named `name` whose labels include `labels`. */
export function samples(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter((s) => s.name === name && matches(s, labels));
}
