/**
 * Starts the fixture site for the run (unless RAPTOR_SITE_URL points at one already) and gives
 * the run a private RAPTOR_HOME (unless one is set), so `npm test` never touches ~/.raptor.
 * Workers start after global setup and inherit these variables.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFixtureSite } from '../../fixtures/site/server.js';

export default async function globalSetup(): Promise<() => Promise<void>> {
  const teardown: (() => Promise<void>)[] = [];
  if (!process.env['RAPTOR_SITE_URL']) {
    const site = await startFixtureSite();
    process.env['RAPTOR_SITE_URL'] = site.url;
    teardown.push(() => site.close());
  }
  if (!process.env['RAPTOR_HOME']) {
    const home = await mkdtemp(join(tmpdir(), 'raptor-e2e-'));
    process.env['RAPTOR_HOME'] = home;
    teardown.push(() => rm(home, { recursive: true, force: true }));
  }
  return async () => {
    for (const step of teardown.reverse()) await step();
  };
}
