/**
 * Stopping a process raptor started in a group of its own (a kept-alive browser with its
 * renderers, GPU and utility processes; a proxy relay): the whole group, politely first.
 */
import { deadline, sleep } from '../core/deadline.js';
import { errnoCode } from '../core/errors.js';
import { isAlive } from '../fs/file-lock.js';

/** Signals the process group `pid` leads; a group already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if (errnoCode(error) !== 'ESRCH') throw error;
  }
}

/** SIGTERM to the group, then SIGKILL if its leader is still alive after `graceMs`. */
export async function stopGroup(pid: number, graceMs: number): Promise<void> {
  killGroup(pid, 'SIGTERM');
  const grace = deadline(graceMs);
  while (isAlive(pid) && !grace.expired()) await sleep(25);
  if (isAlive(pid)) killGroup(pid, 'SIGKILL');
}
