/**
 * The pure parts of identity on restore: the launch fingerprint a kept-alive browser records (does
 * it still run with the session's identity?) and how the CLI's identity options change a stored
 * identity (only the fields given).
 */
import { describe, expect, it } from 'vitest';
import { launchFingerprint, sameLaunchIdentity, type Identity } from '../src/core/identity.js';
import { identityChange, mergeIdentity, PROXY_PASSWORD_ENV } from '../src/cli/identity-options.js';
import { isRaptorError } from '../src/core/errors.js';

const launched: Identity = { userAgent: 'A/1.0', locale: 'de-DE', timezoneId: 'Europe/Berlin', proxy: { server: 'http://p:1', username: 'u', password: 'pw-launch-5521' } };

describe('launch fingerprint', () => {
  it('matches the same launch fields and nothing else', () => {
    const print = launchFingerprint(launched)!;
    expect(sameLaunchIdentity(print, launched)).toBe(true);
    // Fields set on every attach do not need a relaunch.
    expect(sameLaunchIdentity(print, { ...launched, viewport: { width: 1, height: 1 }, extraHTTPHeaders: { a: 'b' } })).toBe(true);
    for (const changed of [
      { ...launched, userAgent: 'B/1.0' },
      { ...launched, locale: 'fr-FR' },
      { ...launched, timezoneId: 'UTC' },
      { ...launched, deviceScaleFactor: 2 },
      { ...launched, proxy: { ...launched.proxy!, password: 'other' } },
      { ...launched, proxy: { ...launched.proxy!, bypass: 'x' } },
      { userAgent: 'A/1.0' },
      undefined,
    ]) {
      expect(sameLaunchIdentity(print, changed), JSON.stringify(changed)).toBe(false);
    }
  });

  it('is absent without launch fields, salted, and holds no password', () => {
    expect(launchFingerprint(undefined)).toBeUndefined();
    expect(launchFingerprint({ viewport: { width: 10, height: 10 } })).toBeUndefined();
    expect(sameLaunchIdentity(undefined, { colorScheme: 'dark' })).toBe(true);
    expect(sameLaunchIdentity(undefined, launched)).toBe(false);
    const a = launchFingerprint(launched)!;
    const b = launchFingerprint(launched)!;
    expect(a).not.toBe(b); // another salt each launch: equal identities do not show as equal strings
    expect(a).not.toContain('pw-launch');
  });
});

describe('CLI identity options', () => {
  it('change only the fields given; headers merge by name; --proxy-bypass alone edits the stored proxy', () => {
    const stored: Identity = { userAgent: 'A/1.0', extraHTTPHeaders: { 'X-A': '1' }, proxy: { server: 'http://p:1' } };
    const change = identityChange({ timezone: 'UTC', header: ['X-B: 2'], proxyBypass: 'intranet' }, {})!;
    expect(mergeIdentity(stored, change)).toEqual({ userAgent: 'A/1.0', timezoneId: 'UTC', extraHTTPHeaders: { 'X-A': '1', 'X-B': '2' }, proxy: { server: 'http://p:1', bypass: 'intranet' } });
    expect(identityChange({}, {})).toBeUndefined();
    const error = (() => {
      try {
        mergeIdentity(undefined, identityChange({ proxyBypass: 'intranet' }, {})!);
      } catch (e) {
        return e;
      }
    })();
    expect(isRaptorError(error, 'USAGE')).toBe(true);
  });

  it(`takes the proxy password from ${PROXY_PASSWORD_ENV}, out of the URL`, () => {
    expect(identityChange({ proxy: 'http://carol@p:3128' }, { [PROXY_PASSWORD_ENV]: 'pw-env' })!.fields.proxy).toEqual({ server: 'http://p:3128', username: 'carol', password: 'pw-env' });
    expect(identityChange({ proxy: 'http://carol:in-url@p:3128' }, { [PROXY_PASSWORD_ENV]: 'pw-env' })!.fields.proxy!.password).toBe('in-url');
    expect(() => identityChange({ proxy: 'http://p:3128' }, { [PROXY_PASSWORD_ENV]: 'pw-env' })).toThrow(/names no user/);
    expect(() => identityChange({ deviceScaleFactor: 'big' }, {})).toThrow(/deviceScaleFactor/);
  });
});
