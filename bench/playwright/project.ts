/**
 * A user's Playwright Test project for `npm run bench:playwright`, in a temp dir: its own config
 * and specs, and a `node_modules` whose `@playwright/test`, `playwright`, `playwright-core` and
 * `raptor-sessions` are links to this repository's (nothing installed; raptor is the built `dist/`),
 * as in test/helpers/playwright-project.ts. `run()` is `playwright test` in that dir, timed from
 * spawn to exit: what a developer waits for.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface TimedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  /** Wall time from spawn to exit, ms. */
  ms: number;
}

export interface BenchProject {
  dir: string;
  run(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<TimedRun>;
}

/** Process groups of `playwright test` runs still going (each a runner, its workers, their browsers). */
const running = new Set<number>();

/** Kills what is left of every run this process started (by process group id); for interrupts. */
export function killRunning(): void {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

/** This process's env without `RAPTOR_*`, so the caller's own setup never leaks into a run. */
export function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('RAPTOR_')) env[key] = value;
  return { ...env, NO_COLOR: '1', CI: '', ...extra };
}

/** `files`: path (relative to `dir`) -> content. A `package.json` of type module is added. */
export async function createBenchProject(dir: string, files: Record<string, string>): Promise<BenchProject> {
  if (!existsSync(join(ROOT, 'dist/playwright/test.js'))) throw new Error('dist/ is missing: run `npm run bench:playwright` (it builds first)');
  const modules = join(dir, 'node_modules');
  await mkdir(join(modules, '@playwright'), { recursive: true });
  await symlink(join(ROOT, 'node_modules/@playwright/test'), join(modules, '@playwright/test'));
  await symlink(join(ROOT, 'node_modules/playwright'), join(modules, 'playwright'));
  await symlink(join(ROOT, 'node_modules/playwright-core'), join(modules, 'playwright-core'));
  await symlink(ROOT, join(modules, 'raptor-sessions'));
  const all = { 'package.json': JSON.stringify({ name: 'bench-project', private: true, type: 'module' }), ...files };
  for (const [path, content] of Object.entries(all)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  const cli = join(modules, '@playwright/test/cli.js');
  return {
    dir,
    run: (env, timeoutMs) =>
      new Promise((resolvePromise, reject) => {
        const started = performance.now();
        // Its own process group, so that a run that overstays is ended with all its workers and browsers.
        const child = spawn(process.execPath, [cli, 'test', '--reporter=line'], { cwd: dir, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        const pid = child.pid;
        if (pid !== undefined) running.add(pid);
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const timer = setTimeout(() => {
          output += `\n[bench] killed after ${timeoutMs} ms\n`;
          if (pid !== undefined) process.kill(-pid, 'SIGKILL');
        }, timeoutMs);
        child.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.once('exit', (code, signal) => {
          const ms = performance.now() - started;
          clearTimeout(timer);
          if (pid !== undefined) {
            running.delete(pid);
            try {
              process.kill(-pid, 'SIGKILL'); // anything of that run still alive (normally nothing)
            } catch {
              // the group is gone: the usual case
            }
          }
          resolvePromise({ code, signal, output, ms });
        });
      }),
  };
}
