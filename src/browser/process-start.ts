/**
 * When a process started, to tell it from a later process that got its pid: raptor records this
 * for every process it launches detached (browser, proxy relay) and signals only a pid whose start
 * still matches. Light on purpose: the proxy relay's own process imports it.
 */
import { readFileSync } from 'node:fs';

/** When process `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined without /proc. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after `(comm)`, which may itself hold spaces, start at field 3.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** Boot time in ms since the epoch; ticks are Linux's fixed USER_HZ of 100 per second. */
export function bootTimeMs(): number {
  return Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]) * 1000;
}
