/**
 * Issue 12: a fleet worker that leases a session opens a context that is that session, identity
 * included. A login bound to user agent, language, timezone and an authenticating proxy is saved
 * with its identity; a worker acquires it from the pool and opens `contextOptionsFor(lease.session)`
 * in its own browser: the identity app sees the same browser and keeps it logged in, through the
 * file store, an encrypted one, and PostgreSQL (its native acquire). Control: the lease's storage
 * state alone is logged out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContextOptions } from 'playwright-core';
import { contextOptionsFor } from '../src/index.js';
import { chromiumArgs, findBrowserSync } from '../src/browser/find.js';
import { isRaptorError } from '../src/core/errors.js';
import type { Identity } from '../src/core/identity.js';
import { newKey } from '../src/crypto/encryption.js';
import { setSetting } from '../src/env/config.js';
import { SessionManager } from '../src/manager.js';
import { createFileStore } from '../src/store/file.js';
import { logIn, whoAmI } from '../fixtures/identity-app/drive.js';
import { startIdentityApp, type IdentityApp } from '../fixtures/identity-app/server.js';
import { startForwardProxy, type ForwardProxy } from '../fixtures/proxy/forward-proxy.js';
import { createRaptorEnv } from './helpers/env.js';
import { assertPostgresReachable, randomTable, sql, storeUrl } from './helpers/postgres.js';

let app: IdentityApp;
let proxy: ForwardProxy;
let browser: Browser;
const envs: Awaited<ReturnType<typeof createRaptorEnv>>[] = [];
const managers: SessionManager[] = [];
const tables: string[] = [];

beforeAll(async () => {
  app = await startIdentityApp();
  proxy = await startForwardProxy({ id: 'exit-lease', username: 'fleet', password: 'proxy-secret' });
  browser = await chromium.launch({ executablePath: findBrowserSync().executablePath, args: chromiumArgs() });
});

afterAll(async () => {
  for (const manager of managers) await manager.close();
  for (const env of envs) await env.dispose();
  for (const t of tables) await sql(`DROP TABLE IF EXISTS "${t}", "${t}_quarantine", "${t}_schema"`);
  await browser?.close();
  await Promise.all([app?.close(), proxy?.close()]);
});

const identity = (): Identity => ({
  userAgent: 'RaptorFleet/1.0 (lease)',
  locale: 'fr-FR',
  timezoneId: 'Asia/Tokyo',
  proxy: { server: proxy.url, username: 'fleet', password: 'proxy-secret' },
});

/** A raptor home (encrypted or not) holding `user`'s login, made in a context of `identity()`, in the pool `fleet`. */
async function savedLogin(user: string, store: 'file' | 'encrypted' | 'postgres') {
  const env = await createRaptorEnv();
  envs.push(env);
  let manager = env.manager;
  if (store === 'postgres') {
    await assertPostgresReachable();
    const table = randomTable('idlease');
    tables.push(table);
    manager = await SessionManager.open({ env: env.env, store: storeUrl(table), autoCleanup: false });
    managers.push(manager);
  }
  if (store === 'encrypted') {
    await setSetting(env.manager.paths, 'encryption', 'on');
    manager = await SessionManager.open({ env: { ...env.env, RAPTOR_KEY: newKey().bytes.toString('base64') }, autoCleanup: false });
    managers.push(manager);
  }
  const context = await browser.newContext(identity());
  try {
    await logIn(await context.newPage(), app.url, user);
    await manager.save(user, { context }, { identity: identity(), tags: ['fleet'] });
  } finally {
    await context.close();
  }
  return { env, manager };
}

async function whoIn(options: BrowserContextOptions) {
  const context = await browser.newContext(options);
  try {
    return await whoAmI(await context.newPage(), app.url);
  } finally {
    await context.close();
  }
}

describe('a leased session opens as the browser it logged in with', () => {
  it('acquire, then contextOptionsFor(lease.session): logged in, through the proxy; the state alone is logged out', async () => {
    const { manager } = await savedLogin('lea', 'file');
    const lease = await manager.acquire({ tag: 'fleet', owner: 'worker-1', leaseMs: 30_000 });
    expect(lease?.session.identity).toEqual(identity());
    const forwarded = proxy.forwarded();
    expect(await whoIn(contextOptionsFor(lease!.session))).toEqual({ user: 'lea', reason: '' });
    expect(proxy.forwarded()).toBeGreaterThan(forwarded);
    // Control: what a worker had before, the storage state without the identity.
    expect(await whoIn({ storageState: contextOptionsFor(lease!.session).storageState! })).toEqual({ user: 'anonymous', reason: 'userAgent changed' });
    await lease!.release({ outcome: 'error' });
  });

  it('works the same from an encrypted store, where the identity (proxy password included) is sealed with the state', async () => {
    const { env, manager } = await savedLogin('enc', 'encrypted');
    expect(manager).not.toBe(env.manager);
    const lease = await manager.acquire({ tag: 'fleet', owner: 'worker-2', leaseMs: 30_000 });
    expect(await whoIn(contextOptionsFor(lease!.session))).toEqual({ user: 'enc', reason: '' });
    await lease!.release({ outcome: 'success' });
    // The same record read past the encryption layer is still sealed: no half context from it.
    const raw = createFileStore({ dir: env.sessionsDir });
    try {
      const sealed = await raw.get('enc');
      expect(sealed?.encrypted).toBeDefined();
      expect(sealed?.identity).toBeUndefined();
      let error: unknown;
      try {
        contextOptionsFor(sealed!);
      } catch (caught) {
        error = caught;
      }
      expect(isRaptorError(error, 'ENCRYPTION_KEY')).toBe(true);
      expect((error as Error).message).not.toContain('proxy-secret');
    } finally {
      await raw.close();
    }
  });

  it('works the same from PostgreSQL, whose acquire is one statement of its own', async () => {
    const { manager } = await savedLogin('pgl', 'postgres');
    const lease = await manager.acquire({ tag: 'fleet', owner: 'worker-3', leaseMs: 30_000 });
    expect(lease?.session.identity).toEqual(identity());
    expect(await whoIn(contextOptionsFor(lease!.session))).toEqual({ user: 'pgl', reason: '' });
    await lease!.release({ outcome: 'success' });
  });
});
