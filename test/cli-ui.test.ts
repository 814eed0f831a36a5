/**
 * `raptor ui` as a command: what it prints, how it refuses bad input, how it stops. What the
 * dashboard shows is test/ui/*.spec.ts's (Playwright, in a real Chromium).
 */
import { createServer, request, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers/cli.js';
import { createTempDir } from './helpers/temp-dir.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function home(): Promise<NodeJS.ProcessEnv> {
  const dir = await createTempDir('raptor-cli-ui-');
  cleanups.push(() => dir.remove());
  return { RAPTOR_HOME: dir.path };
}

/** Starts `raptor ui`, waits for its first line; the caller stops it. */
async function startUi(args: string[], env: NodeJS.ProcessEnv) {
  const ui = await startCli(['ui', '--no-open', ...args], { env });
  cleanups.push(async () => {
    if (ui.child.exitCode === null && ui.child.signalCode === null) {
      ui.child.kill('SIGKILL');
      await ui.exited;
    }
  });
  const deadline = Date.now() + 20_000;
  while (!ui.out.stdout.includes('\n') && ui.child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { ...ui, firstLine: ui.out.stdout.split('\n')[0] ?? '' };
}

function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

describe('raptor ui', () => {
  it('prints {"url"} with a token as its first line, answers on it, and exits 0 on SIGTERM without logging the token', async () => {
    const env = await home();
    const ui = await startUi(['--json', '--log-level', 'trace'], env);
    const { url } = JSON.parse(ui.firstLine) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/);
    const token = new URL(url).searchParams.get('token')!;

    expect(await status(url)).toBe(303); // the token is exchanged for the cookie
    expect(await status(new URL('/', url).href)).toBe(401); // nothing without it

    ui.child.kill('SIGTERM');
    const exit = await Promise.race([ui.exited, new Promise((r) => setTimeout(() => r('hung'), 20_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(ui.out.stderr).toContain('dashboard listening'); // trace logging did run
    expect(ui.out.stderr).not.toContain(token);
  });

  it('refuses a port that is not a number with a usage error (exit 2)', async () => {
    const result = await runCli(['ui', '--no-open', '--port', 'eighty'], { env: await home() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--port must be a port number');
  });

  it('says which port is taken and how to pick another, instead of a stack trace', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const port = (taken.address() as { port: number }).port;
    const result = await runCli(['ui', '--no-open', '--port', String(port)], { env: await home() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Port ${port} on 127.0.0.1 is in use`);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack
  });

  it('warns when it listens beyond loopback, and still needs Host to name this machine', async () => {
    const ui = await startUi(['--host', '0.0.0.0'], await home());
    expect(ui.out.stderr).toContain('anyone who can reach it and has the token');
    const url = new URL(ui.firstLine.replace(/^raptor ui: /, ''));
    const local = `http://127.0.0.1:${url.port}/`;
    expect(await status(local)).toBe(401); // answers, but wants the token
    expect(await status(local, { host: `evil.test:${url.port}` })).toBe(421);
    ui.child.kill('SIGTERM');
    expect(await ui.exited).toEqual({ code: 0, signal: null });
  });
});
