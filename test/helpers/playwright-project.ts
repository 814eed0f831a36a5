/**
 * A Playwright Test project of a user, in a temp dir: its own config and specs, and a
 * `node_modules` whose `@playwright/test`, `playwright`, `playwright-core` and `raptor-sessions`
 * are links to this repository's (so nothing is installed, and raptor is the built `dist/`).
 * `run()` is `npx playwright test` in that dir.
 */
import { spawn } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ROOT, cleanEnv, ensureBuilt } from './cli.js';
import { createTempDir } from './temp-dir.js';

export interface PlaywrightRun {
  code: number | null;
  output: string;
}

export interface PlaywrightProject {
  dir: string;
  run(env?: NodeJS.ProcessEnv): Promise<PlaywrightRun>;
  remove(): Promise<void>;
}

/** `files`: path (relative to the project) -> content. A `package.json` of type module is added. */
export async function createPlaywrightProject(files: Record<string, string>): Promise<PlaywrightProject> {
  await ensureBuilt();
  const tmp = await createTempDir('raptor-pw-project-');
  const modules = join(tmp.path, 'node_modules');
  await mkdir(join(modules, '@playwright'), { recursive: true });
  await symlink(join(ROOT, 'node_modules/@playwright/test'), join(modules, '@playwright/test'));
  await symlink(join(ROOT, 'node_modules/playwright'), join(modules, 'playwright'));
  await symlink(join(ROOT, 'node_modules/playwright-core'), join(modules, 'playwright-core'));
  await symlink(ROOT, join(modules, 'raptor-sessions'));
  const all = { 'package.json': JSON.stringify({ name: 'user-project', private: true, type: 'module' }), ...files };
  for (const [path, content] of Object.entries(all)) {
    await mkdir(dirname(join(tmp.path, path)), { recursive: true });
    await writeFile(join(tmp.path, path), content);
  }
  return {
    dir: tmp.path,
    run: (env = {}) =>
      new Promise((resolve, reject) => {
        const cli = join(modules, '@playwright/test/cli.js');
        const child = spawn(process.execPath, [cli, 'test', '--reporter=line'], { cwd: tmp.path, env: cleanEnv({ CI: '', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        child.once('error', reject);
        child.once('exit', (code) => resolve({ code, output }));
      }),
    remove: tmp.remove,
  };
}
