/**
 * Planted secrets and the scan that looks for them. Every secret is distinctive (a kind prefix and
 * random hex from a seeded generator), so a hit can only be a leak, and the seed reproduces a run.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** `count` random bytes from `random`. */
export function randomBytesFrom(random: () => number, count: number): Buffer {
  return Buffer.from(Array.from({ length: count }, () => Math.floor(random() * 256)));
}

/** `prefix` and 16 random hex digits, e.g. `ck3f09…`. */
export function secretMaker(random: () => number): (prefix: string) => string {
  return (prefix) => `${prefix}${Array.from({ length: 16 }, () => Math.floor(random() * 16).toString(16)).join('')}`;
}

export interface Output {
  what: string;
  text: string;
}

/**
 * The pieces of `secret` searched for: every 10-character window, so a truncated echo
 * (`"token": cf43cfa9a0"...`, as V8's JSON errors print) is caught too. A private key (long)
 * is searched by its random scalar only: its DER header is the same for every key.
 */
export function needles(secret: string): string[] {
  const random = secret.length > 64 ? secret.slice(48, 90) : secret;
  const windows: string[] = [];
  for (let i = 0; i + 10 <= random.length; i += 1) windows.push(random.slice(i, i + 10));
  return windows.length > 0 ? windows : [secret];
}

/** `kind in what` for every secret found (whole or in part) in an output. */
export function findLeaks(secrets: Record<string, string>, outputs: readonly Output[]): string[] {
  const leaks: string[] = [];
  for (const { what, text } of outputs) {
    for (const [kind, secret] of Object.entries(secrets)) if (needles(secret).some((n) => text.includes(n))) leaks.push(`${kind} in ${what}`);
  }
  return leaks;
}

/**
 * Every regular file under `root` (links not followed) that `skip` does not exclude, as outputs.
 * `skip` gets the path relative to `root`, with `/` separators.
 */
export async function filesUnder(root: string, skip: (path: string) => boolean): Promise<Output[]> {
  const found: Output[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, entry);
      const rel = relative(root, path).split('\\').join('/');
      if (skip(rel)) continue;
      // A running browser's profile changes under the scan: a file gone between readdir and read held nothing to find.
      const stat = await lstat(path).catch(ifGone);
      if (stat?.isDirectory()) await walk(path);
      else if (stat?.isFile()) {
        const text = await readFile(path, 'utf8').catch(ifGone);
        if (text !== undefined) found.push({ what: `file ${rel}`, text });
      }
    }
  };
  await walk(root);
  return found;
}

function ifGone(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT') return undefined;
  throw error;
}
