/**
 * The package as an outside project gets it (issue 10): `npm pack`, then, for the oldest and the
 * newest `@playwright/test` of the declared peer range, a scratch project made the way a user
 * makes one (`npm init -y`, `npm i -D @playwright/test@<v> typescript @types/node`, then `npm i <tarball>`)
 * with a CommonJS and an ESM folder. In each it proves:
 *
 * - strict `tsc` (no `skipLibCheck`) passes on a file that uses every exported option with the
 *   project's own Playwright objects: raptor's types come from the user's Playwright;
 * - one `playwright-core` in the tree (the user's), and no `pg` (only `raptor-sessions/postgres`
 *   needs it, and it says so when it is missing);
 * - a small suite passes against a tiny login app, logging in once per role;
 * - every source map in the tarball resolves inside it, and a stack trace names shipped files.
 *
 * Run: `npm run test:package` (or `npx tsx scripts/package-check.ts`); `npm test` runs it through
 * test/package/package-check.test.ts. Needs a fresh `dist/` and the npm registry (or its cache).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { scratchFiles } from './package-check-files.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface PackageCheckOptions {
  /** The login app the suites run against (`fixtures/login-app/server.ts`). */
  appUrl: string;
  /** Logins the app has counted so far, to prove one login per role. */
  logins(): number;
  /** `@playwright/test` versions to try. @default the oldest and the newest of the peer range */
  versions?: string[];
  /** Progress lines. @default silent */
  log?: (line: string) => void;
  /** Keep the scratch projects (for a look after a failure). @default false */
  keep?: boolean;
}

export interface ProjectResult {
  playwright: string;
  /** `playwright-core` versions installed in the project: exactly one, the user's. */
  playwrightCore: string[];
  pgInstalled: boolean;
  typecheck: 'passed';
  suites: { kind: 'cjs' | 'esm'; passed: number; logins: number }[];
  seconds: number;
}

export interface PackageCheckResult {
  tarball: string;
  files: number;
  sourceMaps: number;
  mappedSources: number;
  stackFrames: number;
  projects: ProjectResult[];
  seconds: number;
}

interface Run {
  code: number | null;
  out: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.once('error', fail);
    child.once('exit', (code) => done({ code, out }));
  });
}

async function must(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const result = await run(command, args, cwd, env);
  if (result.code !== 0) throw new Error(`\`${command} ${args.join(' ')}\` in ${cwd} exited ${result.code}:\n${result.out}`);
  return result.out;
}

const seconds = (since: number) => Math.round((performance.now() - since) / 100) / 10;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

/** `dist/` must be built from the current `src/`: the tarball is what `tsc` made of it. */
function assertFreshDist(): void {
  const newest = (dir: string): number => Math.max(0, ...filesUnder(dir).map((f) => statSync(f).mtimeMs));
  const dist = join(ROOT, 'dist');
  if (!existsSync(dist) || newest(dist) < newest(join(ROOT, 'src'))) throw new Error('dist/ is missing or older than src/: run `npm run build` first.');
}

/** The oldest and the newest released version that satisfy the declared peer range. */
export async function peerRangeEnds(): Promise<string[]> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> };
  const range = pkg.peerDependencies['@playwright/test']!;
  const listed = JSON.parse(await must('npm', ['view', `@playwright/test@${range}`, 'version', '--json'], ROOT)) as string | string[];
  const versions = (Array.isArray(listed) ? listed : [listed]).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  if (versions.length === 0) throw new Error(`No release of @playwright/test satisfies ${range}.`);
  return [...new Set([versions[0]!, versions.at(-1)!])];
}

/** Every `.js` in the tarball names a map that is in the tarball, and every source of every map is shipped and inlined. */
function checkSourceMaps(pkgDir: string): { maps: number; sources: number } {
  let maps = 0;
  let sources = 0;
  for (const file of filesUnder(pkgDir).filter((f) => f.endsWith('.js') && f.includes(`${pkgDir}/dist/`))) {
    const ref = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(file, 'utf8'))?.[1];
    if (!ref) continue;
    const mapPath = resolve(dirname(file), ref);
    if (!existsSync(mapPath)) throw new Error(`${relative(pkgDir, file)} names the source map ${ref}, which is not in the tarball.`);
    const map = JSON.parse(readFileSync(mapPath, 'utf8')) as { sources: string[]; sourceRoot?: string; sourcesContent?: (string | null)[] };
    maps++;
    map.sources.forEach((source, i) => {
      const path = resolve(dirname(mapPath), map.sourceRoot ?? '', source);
      if (!path.startsWith(`${pkgDir}/`) || !existsSync(path)) throw new Error(`${relative(pkgDir, mapPath)} points at ${source}, which is not in the tarball (a stale file of a moved source? \`npm run build\` clears dist/ first).`);
      if (typeof map.sourcesContent?.[i] !== 'string') throw new Error(`${relative(pkgDir, mapPath)} has no sourcesContent for ${source}.`);
      sources++;
    });
  }
  if (maps === 0) throw new Error('The tarball holds no source maps at all.');
  return { maps, sources };
}

/** An error thrown inside raptor, printed with `--enable-source-maps`: every raptor frame must name a file that exists. */
async function checkStackTrace(project: string): Promise<number> {
  const out = await must(process.execPath, ['--enable-source-maps', 'stack.mjs'], project);
  const frames = [...out.matchAll(/(\/[^\s():]*node_modules\/raptor-sessions\/[^\s():]+):\d+:\d+/g)].map((m) => m[1]!);
  if (!frames.some((f) => f.endsWith('.ts'))) throw new Error(`The stack trace is not source-mapped to raptor's .ts files:\n${out}`);
  const missing = frames.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`The stack trace names files that are not shipped: ${missing.join(', ')}\n${out}`);
  return frames.length;
}

function installedVersions(project: string, name: string): string[] {
  return filesUnder(join(project, 'node_modules'))
    .filter((f) => f.endsWith(`/node_modules/${name}/package.json`))
    .map((f) => (JSON.parse(readFileSync(f, 'utf8')) as { version: string }).version);
}

async function checkProject(work: string, tarball: string, version: string, options: PackageCheckOptions): Promise<ProjectResult> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const project = join(work, `playwright-${version}`);
  await mkdir(project);
  await must('npm', ['init', '-y'], project);
  // A Playwright project first (what `npm init playwright` installs, without a browser download:
  // RAPTOR_BROWSER or the system's Chromium), then raptor added to it, as the README says.
  const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];
  await must('npm', ['install', '-D', ...quiet, `@playwright/test@${version}`, 'typescript@5.9', '@types/node@20'], project, { PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' });
  await must('npm', ['install', ...quiet, tarball], project);
  log(`  @playwright/test@${version}: installed in ${seconds(started)} s`);
  for (const [path, content] of Object.entries(scratchFiles())) {
    await mkdir(dirname(join(project, path)), { recursive: true });
    await writeFile(join(project, path), content);
  }

  const pgInstalled = existsSync(join(project, 'node_modules/pg')) || (await run('npm', ['ls', 'pg', '--all', '--parseable'], project)).out.trim() !== '';
  if (pgInstalled) throw new Error(`pg is installed in a Playwright-only project (@playwright/test@${version}).`);
  const playwrightCore = installedVersions(project, 'playwright-core');
  if (playwrightCore.length !== 1 || playwrightCore[0] !== version) throw new Error(`Expected the user's playwright-core ${version} only, found ${playwrightCore.join(', ') || 'none'}.`);

  await must(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
  log(`  @playwright/test@${version}: strict tsc passed (CommonJS and ESM)`);
  await must(process.execPath, ['postgres.mjs'], project);

  const suites: ProjectResult['suites'] = [];
  for (const kind of ['cjs', 'esm'] as const) {
    const env = { LOGIN_APP_URL: options.appUrl, RAPTOR_HOME: join(project, `.raptor-${kind}`), CI: '1' };
    const cli = join(project, 'node_modules/@playwright/test/cli.js');
    const before = options.logins();
    const result = await run(process.execPath, [cli, 'test', '--reporter=line'], join(project, kind), env);
    if (result.code !== 0) throw new Error(`The ${kind} suite failed on @playwright/test@${version}:\n${result.out}`);
    const passed = Number(/(\d+) passed/.exec(result.out)?.[1] ?? 0);
    suites.push({ kind, passed, logins: options.logins() - before });
    log(`  @playwright/test@${version} ${kind}: ${passed} passed, ${options.logins() - before} logins`);
  }
  return { playwright: version, playwrightCore, pgInstalled, typecheck: 'passed', suites, seconds: seconds(started) };
}

export async function packageCheck(options: PackageCheckOptions): Promise<PackageCheckResult> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  assertFreshDist();
  const work = await mkdtemp(join(tmpdir(), 'raptor-package-'));
  try {
    // Without scripts: `prepack` rebuilds dist/ from nothing, and other test files run the CLI from
    // that dist/ at the same time. The dist/ the suite built is what is packed; stale files in it
    // (of sources that moved) fail the source-map check below with a way out.
    const packed = JSON.parse(await must('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT)) as { filename: string; files: unknown[] }[];
    const tarball = join(work, packed[0]!.filename);
    await mkdir(join(work, 'extract'));
    await must('tar', ['xzf', tarball, '-C', join(work, 'extract')], work);
    const { maps, sources } = checkSourceMaps(join(work, 'extract/package'));
    log(`packed ${packed[0]!.filename}: ${packed[0]!.files.length} files, ${maps} source maps, ${sources} sources, all inside`);

    const versions = options.versions ?? (await peerRangeEnds());
    const projects: ProjectResult[] = [];
    for (const version of versions) projects.push(await checkProject(work, tarball, version, options));
    const stackFrames = await checkStackTrace(join(work, `playwright-${versions[0]}`));
    return { tarball: packed[0]!.filename, files: packed[0]!.files.length, sourceMaps: maps, mappedSources: sources, stackFrames, projects, seconds: seconds(started) };
  } finally {
    if (options.keep) log(`scratch projects kept in ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  const { startLoginApp } = await import('../fixtures/login-app/server.js');
  const app = await startLoginApp();
  try {
    const result = await packageCheck({ appUrl: app.url, logins: app.logins, log: console.log, keep: process.argv.includes('--keep') });
    console.log(JSON.stringify(result, null, 2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  } finally {
    await app.close();
  }
}
