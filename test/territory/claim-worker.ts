/**
 * One of the processes of the marker race: waits for the go file, then claims every directory
 * `<root>/d<i>` in order, as every other process does at the same time, and prints the failures.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { claimSessionsDir } from '../../src/fs/territory.js';

const [root, count, go] = process.argv.slice(2) as [string, string, string];
while (!existsSync(go)) await new Promise((resolve) => setTimeout(resolve, 5));
const failures: string[] = [];
for (let i = 0; i < Number(count); i++) {
  try {
    claimSessionsDir(join(root, `d${i}`));
  } catch (error) {
    failures.push(`d${i}: ${(error as Error).message.split('\n')[0]}`);
  }
}
process.stdout.write(JSON.stringify({ failures }));
