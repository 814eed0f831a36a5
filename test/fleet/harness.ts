/**
 * Runs a fleet of worker processes (`worker.ts`) against one store and reads back their logs.
 * The checks live here too, so the test file reads as the story: what a fleet must never do.
 */
import { spawn } from 'node:child_process';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newRecord } from '../../src/core/record.js';
import type { SessionStore } from '../../src/store/types.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { ORIGIN, type WorkerConfig } from './shared.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export interface FleetEvent {
  owner: string;
  /** hrtime in ns (CLOCK_MONOTONIC). */
  at: bigint;
  event: 'ready' | 'acquiring' | 'acquired' | 'holding-until-killed' | 'renewing' | 'renew-failed' | 'released' | 'persisted' | 'release-failed';
  session: string;
  counter?: number;
  error?: string;
}

export interface FleetRun {
  events: FleetEvent[];
  victim: string;
  victimSession: string;
  /** hrtime (ns) at which the victim was SIGKILLed. */
  killedAt: bigint;
  exits: { owner: string; code: number | null; signal: NodeJS.Signals | null }[];
}

/** Puts `count` sessions tagged `tag`, each with a release counter of 0 and no usage limit. */
export async function seedPool(store: SessionStore, tag: string, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${tag}-${String(i).padStart(2, '0')}`);
  for (const name of names) {
    await store.put(
      newRecord(name, { cookies: [], origins: [{ origin: ORIGIN, localStorage: [{ name: 'releases', value: '0' }] }] }, {
        tags: [tag],
        metadata: { pool: { maxUsageCount: 1e9, maxErrorScore: 1e9 } },
      }),
    );
  }
  return names;
}

/** `seed` seeds every worker (each gets a seed of its own drawn from it). */
export async function runFleet(options: { store: string; tag: string; workers: number; seconds: number; leaseMs: number; dir: string; seed: number }): Promise<FleetRun> {
  const random = seededRandom(options.seed);
  const children = Array.from({ length: options.workers }, (_, i) => {
    const config: WorkerConfig = {
      store: options.store,
      tag: options.tag,
      owner: `worker-${i}`,
      log: join(options.dir, `worker-${i}.ndjson`),
      // Only the victim's lease is short: a worker of a busy machine stalled for longer than its
      // lease rightly loses it, and that is not what this test is about.
      leaseMs: i === 0 ? options.leaseMs : Math.max(options.leaseMs, 15_000),
      go: join(options.dir, 'go'),
      seed: Math.floor(random() * 2 ** 31),
      ...(i === 0 ? { victim: true } : {}),
    };
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise<FleetRun['exits'][number]>((resolve) => child.once('exit', (code, signal) => resolve({ owner: config.owner, code, signal })));
    return { child, config, exited };
  });
  const victim = children[0]!;
  const failStart = (why: string): never => {
    for (const { child } of children) child.kill('SIGKILL');
    throw new Error(why);
  };
  const started = Date.now();
  while ((await Promise.all(children.map((c) => readEvents(c.config.log)))).some((events) => !events.some((e) => e.event === 'ready'))) {
    if (Date.now() - started > 120_000) failStart('the workers did not start within 2 minutes');
    await new Promise((r) => setTimeout(r, 20));
  }
  // Written whole (rename), so no worker can read a half-written file.
  await writeFile(join(options.dir, 'go.tmp'), String(Date.now() + options.seconds * 1000));
  await rename(join(options.dir, 'go.tmp'), join(options.dir, 'go'));
  let victimSession = '';
  const deadline = Date.now() + 30_000;
  for (;;) {
    const held = (await readEvents(victim.config.log)).find((e) => e.event === 'holding-until-killed');
    if (held) {
      victimSession = held.session;
      break;
    }
    if (Date.now() > deadline) failStart('the victim worker never acquired a session');
    await new Promise((r) => setTimeout(r, 20));
  }
  victim.child.kill('SIGKILL');
  const killedAt = process.hrtime.bigint();
  const exits = await Promise.all(children.map((c) => c.exited));
  const events = (await Promise.all(children.map((c) => readEvents(c.config.log)))).flat();
  return { events, victim: victim.config.owner, victimSession, killedAt, exits };
}

/** The NDJSON log of one worker (none yet: empty). */
export async function readEvents(path: string): Promise<FleetEvent[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const raw = JSON.parse(line) as Omit<FleetEvent, 'at'> & { at: string };
      return { ...raw, at: BigInt(raw.at) };
    });
}

/**
 * Every moment at which two workers held one session, from the merged logs. A hold runs from
 * `acquired` to the holder's `released`; the victim's last hold ends when it was killed.
 */
export function overlappingHolds(run: FleetRun): string[] {
  const killed: FleetEvent = { owner: run.victim, at: run.killedAt, event: 'released', session: run.victimSession };
  return holdOverlaps(run.events, run.events.some((e) => e.session === run.victimSession) ? [killed] : []);
}

/** A hold-bearing log line of any fleet worker (this harness's, or `refresh-worker.ts`'s). */
export type HoldEvent = Pick<FleetEvent, 'owner' | 'at' | 'session'> & { event: string };

/** Every moment at which two workers held one session, from `acquired` … `released` lines (`extra`: holds ended otherwise). */
export function holdOverlaps(logged: readonly HoldEvent[], extra: readonly HoldEvent[] = []): string[] {
  const bySession = new Map<string, HoldEvent[]>();
  for (const e of [...logged, ...extra]) if (e.event === 'acquired' || e.event === 'released') bySession.set(e.session, [...(bySession.get(e.session) ?? []), e]);
  const problems: string[] = [];
  for (const [session, events] of bySession) {
    events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.event === 'released' ? -1 : 1));
    let holder: string | undefined;
    for (const e of events) {
      if (e.event === 'acquired') {
        if (holder !== undefined) problems.push(`${session}: ${e.owner} acquired it while ${holder} held it`);
        holder = e.owner;
      } else if (e.owner === holder) {
        holder = undefined;
      } else {
        problems.push(`${session}: ${e.owner} released it without holding it`);
      }
    }
  }
  return problems;
}
