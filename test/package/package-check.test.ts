/**
 * The tarball as an outside Playwright project installs it, at both ends of the declared peer
 * range, CommonJS and ESM (scripts/package-check.ts does the work; this is its CI job).
 * Needs the npm registry or a warm ~/.npm cache; the installs take most of the time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoginApp, type LoginApp } from '../../fixtures/login-app/server.js';
import { packageCheck, peerRangeEnds, type PackageCheckResult } from '../../scripts/package-check.js';
import { ensureBuilt } from '../helpers/cli.js';

describe('raptor-sessions from npm pack, in scratch Playwright projects', () => {
  let app: LoginApp;
  let result: PackageCheckResult;
  let ends: string[];

  beforeAll(async () => {
    await ensureBuilt();
    app = await startLoginApp();
    ends = await peerRangeEnds();
    result = await packageCheck({ appUrl: app.url, logins: app.logins, versions: ends, log: (line) => console.log(line) });
    console.log(`package check: ${result.seconds} s`);
  }, 1_200_000); // npm installs, two tsc runs and four suites: minutes, more on a loaded machine
  afterAll(async () => {
    await app?.close();
  });

  it('covers the oldest and the newest @playwright/test of the peer range', () => {
    expect(ends.length).toBe(2);
    expect(result.projects.map((p) => p.playwright)).toEqual(ends);
  });

  it('type-checks every exported option under strict against the project’s own Playwright types', () => {
    for (const project of result.projects) {
      expect(project.typecheck).toBe('passed');
      expect(project.playwrightCore, 'one playwright-core: the user’s').toEqual([project.playwright]);
    }
  });

  it('installs no pg for a Playwright-only project', () => {
    for (const project of result.projects) expect(project.pgInstalled).toBe(false);
  });

  it('runs the suite in CommonJS and ESM, logging in once per role', () => {
    for (const project of result.projects) {
      expect(project.suites.map((s) => s.kind)).toEqual(['cjs', 'esm']);
      for (const suite of project.suites) expect(suite).toMatchObject({ passed: 3, logins: 2 });
    }
  });

  it('ships every source a source map names, inlined, and stack traces name shipped files', () => {
    expect(result.sourceMaps).toBeGreaterThan(50);
    expect(result.mappedSources).toBe(result.sourceMaps);
    expect(result.stackFrames).toBeGreaterThan(0);
  });
});
