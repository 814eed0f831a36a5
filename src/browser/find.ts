/**
 * Finds a Chromium to launch, in DESIGN.md's order: `RAPTOR_BROWSER`, the config's `browser`,
 * Playwright's own downloaded build, then the system's Chrome/Chromium.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RaptorError } from '../core/errors.js';

export interface FoundBrowser {
  executablePath: string;
  /** Where it was found, for `raptor doctor`. */
  source: 'RAPTOR_BROWSER' | 'config' | 'playwright' | 'system';
}

const SYSTEM_CANDIDATES: Record<string, string[]> = {
  linux: ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium', '/usr/bin/microsoft-edge'],
  darwin: [
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge',
  ],
  win32: [
    'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
    'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe',
    'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe',
  ],
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false; // not there or not executable: try the next candidate
  }
}

/** The command that installs a browser on this platform, for error messages. */
export function installHint(): string {
  if (process.platform === 'linux' && existsSync('/etc/debian_version')) return '`sudo apt-get install -y chromium` (Debian/Ubuntu)';
  if (process.platform === 'linux') return 'your distribution\'s `chromium` package, or `npx playwright install chromium`';
  return '`npx playwright install chromium`, or install Google Chrome';
}

export async function findBrowser(options: { configured?: string; env?: NodeJS.ProcessEnv } = {}): Promise<FoundBrowser> {
  return findBrowserSync(options);
}

/** `findBrowser` for places that cannot await, such as a `playwright.config.ts`. */
export function findBrowserSync(options: { configured?: string; env?: NodeJS.ProcessEnv } = {}): FoundBrowser {
  const env = options.env ?? process.env;
  const fromEnv = env['RAPTOR_BROWSER'];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return { executablePath: fromEnv, source: 'RAPTOR_BROWSER' };
    throw new RaptorError('BROWSER_NOT_FOUND', `RAPTOR_BROWSER is \`${fromEnv}\`, which is not an executable. Point it at Chrome or Chromium, or unset it.`);
  }
  if (options.configured) {
    if (isExecutable(options.configured)) return { executablePath: options.configured, source: 'config' };
    throw new RaptorError(
      'BROWSER_NOT_FOUND',
      `The configured browser \`${options.configured}\` is not an executable. Fix it with \`raptor config set browser <path>\` or \`raptor config unset browser\`.`,
    );
  }
  let bundled: string | undefined;
  try {
    const { chromium } = createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core');
    bundled = chromium.executablePath();
  } catch {
    bundled = undefined; // this Playwright has no build for the platform: fall through to the system
  }
  if (bundled && isExecutable(bundled)) return { executablePath: bundled, source: 'playwright' };
  for (const candidate of SYSTEM_CANDIDATES[process.platform] ?? []) {
    if (isExecutable(candidate)) return { executablePath: candidate, source: 'system' };
  }
  throw new RaptorError('BROWSER_NOT_FOUND', `No Chrome or Chromium found. Install one with ${installHint()}, or set RAPTOR_BROWSER to its path.`);
}

/**
 * Flags every raptor-launched Chromium gets. The closed-network ones stop Chromium from phoning
 * home (its connections would be refused, noisily); `--no-sandbox` is required to run as root.
 */
export function chromiumArgs(): string[] {
  const args = [
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-gpu',
    '--disable-dev-shm-usage',
  ];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return args;
}
