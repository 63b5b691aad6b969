// Process figures shared by the benches (Linux /proc): CPU time and resident memory of a pid, and percentiles.
import { readFileSync } from 'node:fs';

/** utime+stime of a process in ms, from /proc/<pid>/stat (clock ticks of 10 ms); 0 once it has gone. */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces, so count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/**
 * Resident memory of a process in MiB from /proc/<pid>/status: `now` (VmRSS) and `peak` (VmHWM, the
 * high-water mark since it started, which is how "RSS under load" is read after a load leg).
 */
export function rssMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const mib = (k) => Math.round((k / 1024) * 10) / 10;
    return { now: mib(kib('VmRSS')), peak: mib(kib('VmHWM')) };
  } catch {
    return { now: null, peak: null };
  }
}

/** The p-th percentile of an ascending array (nearest rank below), null when empty. */
export const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;

/** CPU µs of this process (user+system), at µs precision. */
export const selfCpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
