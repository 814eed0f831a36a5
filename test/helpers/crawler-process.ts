/**
 * The example crawler (`examples/crawler.ts`) as a user runs it: a child process whose stdout is
 * one JSON event per line (`start`, `page`, `stopped`, ...). Tests keep every run they start and
 * kill what is left in `afterEach`, so no crawler outlives its test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface CrawlerRun {
  child: ChildProcess;
  /** Every event so far, in order. */
  events: Record<string, any>[];
  /** The `start` event; rejects with the crawler's stderr when it exits before starting. */
  started: Promise<Record<string, any>>;
  exited: Promise<number | null>;
  stderr(): string;
}

/** `node --import tsx examples/crawler.ts <args>` in `env`. */
export function spawnCrawler(args: string[], env: NodeJS.ProcessEnv): CrawlerRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/crawler.ts', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, any>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = new Promise<Record<string, any>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line);
      events.push(event);
      if (event.event === 'start') resolve(event);
    });
    void exited.then((code) => reject(new Error(`crawler exited (${code}) before starting:\n${stderr}`)));
  });
  started.catch(() => undefined); // awaited only by the tests that expect a start
  return { child, events, started, exited, stderr: () => stderr };
}
