/**
 * A process raptor must never signal: alive, not a raptor browser, and the leader of its own
 * process group as a kept-alive browser is (raptor stops a browser by signalling its group).
 * Name its pid in a keep-alive record, run the code under test, then ask whether it was hit.
 */
import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { killHard } from '../../fixtures/processes.js';

export interface Bystander {
  pid: number;
  /** The signal that ended it, or `still running` after `waitMs` (a signal takes a moment to land). */
  fate(waitMs?: number): Promise<NodeJS.Signals | 'exited' | 'still running'>;
  /** Kills it (and its group); call it in a `finally`. */
  stop(): Promise<void>;
}

export function startBystander(): Bystander {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  const ended = new Promise<NodeJS.Signals | 'exited'>((resolve) => child.once('exit', (_code, signal) => resolve(signal ?? 'exited')));
  return {
    pid: child.pid!,
    fate: (waitMs = 300) => Promise.race([ended, delay(waitMs).then(() => 'still running' as const)]),
    stop: () => killHard(child.pid!, true),
  };
}
