/**
 * A crawler that survives kill -9: crawls the fixture site's pages behind its login with 4 pages
 * at a time. Kill it at any moment and start it again: it reattaches to the browser that
 * survived and resumes where it stopped.
 *
 *   npx tsx fixtures/site/server.ts --pages 300          # prints the site URL
 *   npx tsx examples/crawler.ts http://127.0.0.1:PORT    # crawl; kill it (kill -9) and run it again
 *   raptor crawl status crawler-demo                     # what a restart would do
 *
 * Options: --session NAME (crawler-demo), --concurrency N (4), --page-delay-ms N (0),
 *          --effects-log FILE (appends each finished URL: to count side effects), --restart,
 *          --heartbeat-ms N (1000), --compact-every-ms N (5000), --progress-every N (50).
 * Prints one JSON line per event on stdout: start, progress (every 50 pages), done; and
 * `stopped` with the error's code when the crawl ends with a raptor error (LOCKED when another
 * process runs the crawl, OWNERSHIP_LOST when another took it over), said on stderr too, no stack.
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { logIn } from '../fixtures/site/drive.js';
import { Crawl } from '../src/crawler/index.js';
import { exitCodeFor, isRaptorError } from '../src/core/errors.js';
import { createLogger } from '../src/env/log.js';
import { SessionManager } from '../src/manager.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    session: { type: 'string', default: 'crawler-demo' },
    concurrency: { type: 'string', default: '4' },
    'page-delay-ms': { type: 'string', default: '0' },
    'effects-log': { type: 'string' },
    restart: { type: 'boolean', default: false },
    'heartbeat-ms': { type: 'string', default: '1000' },
    'compact-every-ms': { type: 'string', default: '5000' },
    'progress-every': { type: 'string', default: '50' },
  },
});
const site = positionals[0];
if (!site) {
  console.error('usage: tsx examples/crawler.ts <site-url> [--session NAME] [--concurrency N] [--page-delay-ms N] [--effects-log FILE] [--restart]');
  process.exit(2);
}
const session = values.session!;
const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

const manager = await SessionManager.open({ logger: createLogger({ level: process.env['RAPTOR_LOG_LEVEL'] ?? 'warn' }) });
try {
  await crawlOnce();
} catch (error) {
  // A raptor error is the user's story (another owner, a blocked session): say it, no stack.
  if (!isRaptorError(error)) throw error;
  say({ event: 'stopped', code: error.code, message: error.message });
  process.stderr.write(`crawler: ${error.message} (${error.code})\n`);
  process.exitCode = exitCodeFor(error);
} finally {
  await manager.close();
}

async function crawlOnce(): Promise<void> {
  if (!(await manager.find(session))) {
    // First run: a kept-alive browser for the session, logged in once, saved.
    const launched = await manager.launch(session);
    await logIn(launched.context.pages()[0] ?? (await launched.context.newPage()), site!, 'crawler');
    await manager.save(session, { context: launched.context });
    await launched.close();
  }

  const crawl = await Crawl.open({
    session,
    manager,
    seeds: [`${site}/pages/1`],
    concurrency: Number(values.concurrency),
    mode: values.restart ? 'restart' : 'auto',
    handleSignals: true,
    heartbeatMs: Number(values['heartbeat-ms']),
    saveStateEveryMs: 5_000,
    compactEveryMs: Number(values['compact-every-ms']),
  });
  say({ event: 'start', pid: process.pid, mode: crawl.mode, browserId: crawl.browserId, resumed: crawl.resumed, recovered: crawl.recovered.length, progress: crawl.progress() });

  const pageDelay = Number(values['page-delay-ms']);
  const progressEvery = Number(values['progress-every']);
  let finished = 0;
  try {
    const progress = await crawl.run(async ({ url, page, enqueue }) => {
      const links = await page.$$eval('a[href^="/pages/"]', (anchors) => anchors.map((a) => (a as HTMLAnchorElement).href));
      enqueue(links);
      if (pageDelay > 0) await delay(pageDelay);
      if (values['effects-log']) appendFileSync(values['effects-log'], `${url}\n`);
      if (++finished % progressEvery === 0) say({ event: 'progress', finished, progress: crawl.progress() });
      return { title: await page.title() };
    });
    await crawl.close();
    say({ event: 'done', progress });
  } catch (error) {
    await crawl.close();
    throw error;
  }
}
