/**
 * A launching process that goes away: run as a child (`node --import tsx`), it reads
 * `launchKeepAlive` options as JSON on stdin (so a proxy password is not on its argv either),
 * launches, prints the kept-alive browser as JSON and exits. What it launched must live on.
 */
import { launchKeepAlive } from '../../src/browser/keep-alive.js';

let input = '';
for await (const chunk of process.stdin) input += String(chunk);
try {
  const kept = await launchKeepAlive(JSON.parse(input));
  process.stdout.write(`${JSON.stringify(kept)}\n`, () => process.exit(0));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`, () => process.exit(1));
}
