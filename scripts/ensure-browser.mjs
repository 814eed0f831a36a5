#!/usr/bin/env node
// Finds a Chromium for the demo and the tests, installing Debian's `chromium` when there is none
// and we may (root on Debian/Ubuntu). Prints where it found one; exits 1 with the one command to
// run otherwise. Same search order as src/browser/find.ts.
import { accessSync, constants, existsSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const isExecutable = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

function find() {
  if (process.env.RAPTOR_BROWSER) return isExecutable(process.env.RAPTOR_BROWSER) ? process.env.RAPTOR_BROWSER : undefined;
  try {
    const { chromium } = createRequire(import.meta.url)('playwright-core');
    const bundled = chromium.executablePath();
    if (bundled && isExecutable(bundled)) return bundled;
  } catch {
    // no Playwright build for this platform: look at the system
  }
  const candidates = {
    linux: ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'],
    darwin: ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium'],
    win32: ['C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe'],
  }[process.platform] ?? [];
  return candidates.find(isExecutable);
}

let found = find();
if (!found && process.env.RAPTOR_BROWSER) {
  console.error(`raptor: RAPTOR_BROWSER=${process.env.RAPTOR_BROWSER} is not an executable.`);
  process.exit(1);
}
if (!found && process.platform === 'linux' && existsSync('/etc/debian_version') && process.getuid?.() === 0) {
  console.error('raptor: no Chromium found; installing Debian\'s `chromium` package (apt-get) ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'chromium']]) {
    const run = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (run.status !== 0) {
      console.error(`raptor: \`apt-get ${args.join(' ')}\` failed (exit ${run.status}).`);
      process.exit(1);
    }
  }
  found = find();
}
if (!found) {
  const hint =
    process.platform === 'linux' && existsSync('/etc/debian_version')
      ? 'sudo apt-get install -y chromium'
      : process.platform === 'linux'
        ? "your distribution's chromium package (or: npx playwright install chromium)"
        : 'npx playwright install chromium   (or install Google Chrome)';
  console.error(`raptor: no Chrome or Chromium found. Install one with:\n  ${hint}\nor point RAPTOR_BROWSER at one.`);
  process.exit(1);
}
let version = '';
try {
  version = execFileSync(found, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  version = 'version unknown';
}
console.error(`raptor: using ${found} (${version})`);
