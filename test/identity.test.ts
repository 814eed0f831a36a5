/**
 * A session's identity (src/core/identity.ts) as data: what a caller may give, how the CLI
 * spells it, what a kept-alive Chromium gets at launch, what every attach must set again, and
 * that its secrets never show.
 */
import { describe, expect, it } from 'vitest';
import { isRaptorError } from '../src/core/errors.js';
import { IDENTITY_FIELDS, acceptLanguage, attachOnly, chromiumLaunchFor, parseHeader, parseIdentity, parseProxyUrl, parseViewport } from '../src/core/identity.js';
import { maskIdentity, maskLogFields, maskRecord } from '../src/core/mask.js';
import { STATE_MARKER, newRecord, parseRecordText, serializeRecord } from '../src/core/record.js';

const full = {
  userAgent: 'RaptorTest/1.0',
  locale: 'de-DE',
  timezoneId: 'Europe/Berlin',
  viewport: { width: 1280, height: 720 },
  deviceScaleFactor: 2,
  colorScheme: 'dark' as const,
  geolocation: { latitude: 52.52, longitude: 13.4 },
  permissions: ['geolocation'],
  extraHTTPHeaders: { Authorization: 'Bearer header-secret-123' },
  httpCredentials: { username: 'basic-user', password: 'basic-secret-456' },
  proxy: { server: 'http://proxy.example:3128', username: 'proxy-user', password: 'proxy-secret-789' },
};
const SECRETS = ['header-secret-123', 'basic-secret-456', 'proxy-secret-789'];

describe('identity: what a session looks like to the server', () => {
  it('takes every field Playwright names, and nothing else', () => {
    expect(parseIdentity(full)).toEqual(full);
    expect(IDENTITY_FIELDS).toEqual(Object.keys(full));
    const error = (() => {
      try {
        parseIdentity({ userAgnet: 'typo' });
      } catch (e) {
        return e;
      }
    })();
    expect(isRaptorError(error, 'INVALID_INPUT')).toBe(true);
    expect(() => parseIdentity({ viewport: { width: 0, height: 10 } })).toThrow(/identity\.viewport\.width/);
    expect(() => parseIdentity({ geolocation: { latitude: 91, longitude: 0 } })).toThrow(/latitude/);
  });

  it('reads the CLI spellings, and says what is wrong with a bad one', () => {
    expect(parseViewport('1280x720')).toEqual({ width: 1280, height: 720 });
    expect(() => parseViewport('1280 by 720')).toThrow(/WIDTHxHEIGHT/);
    expect(parseHeader('X-Team:  blue ')).toEqual(['X-Team', 'blue']);
    expect(parseHeader('Authorization: Bearer a:b')).toEqual(['Authorization', 'Bearer a:b']);
    expect(() => parseHeader(': value')).toThrow(/Name: value/);
    expect(parseProxyUrl('http://al%40ice:p%3Ass@proxy.example:3128', 'intranet.example')).toEqual({
      server: 'http://proxy.example:3128',
      username: 'al@ice',
      password: 'p:ss',
      bypass: 'intranet.example',
    });
    expect(parseProxyUrl('proxy.example:3128')).toEqual({ server: 'http://proxy.example:3128' });
    expect(() => parseProxyUrl('ftp://proxy.example')).toThrow(/http, https, socks4 and socks5/);
  });

  it('gives a kept-alive Chromium what it takes at launch, never the proxy password', () => {
    const launch = chromiumLaunchFor(full);
    expect(launch.args).toEqual([
      '--user-agent=RaptorTest/1.0',
      '--lang=de-DE',
      '--accept-lang=de-DE,de',
      '--window-size=1280,720',
      '--force-device-scale-factor=2',
      '--proxy-server=http://proxy.example:3128',
      '--proxy-bypass-list=<-loopback>',
    ]);
    expect(launch.env).toEqual({ LANGUAGE: 'de_DE', TZ: 'Europe/Berlin' });
    expect(JSON.stringify(launch)).not.toContain('proxy-secret');
    expect(chromiumLaunchFor(undefined)).toEqual({ args: [], env: {} });
    expect(acceptLanguage('fr')).toBe('fr');
  });

  it('lists what every attach to a kept-alive browser must set again', () => {
    expect(attachOnly(full)).toEqual({
      colorScheme: 'dark',
      geolocation: full.geolocation,
      permissions: ['geolocation'],
      extraHTTPHeaders: full.extraHTTPHeaders,
      httpCredentials: full.httpCredentials,
    });
    expect(attachOnly({ userAgent: 'x' })).toEqual({});
  });

  it('masks the passwords and header values wherever an identity is shown or logged', () => {
    const shown = [JSON.stringify(maskIdentity(full)), JSON.stringify(maskRecord({ name: 'x', identity: full })), JSON.stringify(maskLogFields({ identity: full, proxy: full.proxy, extraHTTPHeaders: full.extraHTTPHeaders }))];
    for (const text of shown) {
      for (const secret of SECRETS) expect(text).not.toContain(secret);
      expect(text).toContain('proxy.example:3128'); // structure stays readable
    }
    expect(maskIdentity(full).userAgent).toBe('RaptorTest/1.0');
    expect(Object.keys(maskIdentity(full).extraHTTPHeaders!)).toEqual(['Authorization']);
  });

  it('is kept in the session file after the state, where list() never reads, and read back as it was', () => {
    const record = { ...newRecord('idn', { cookies: [], origins: [] }, {}), identity: parseIdentity(full) };
    const text = serializeRecord(record);
    expect(text.indexOf('"identity"')).toBeGreaterThan(text.indexOf(STATE_MARKER));
    expect(parseRecordText(text, 'idn.json').identity).toEqual(full);
    // A file whose identity is not one is invalid, with the field named.
    const bad = text.replace('"RaptorTest/1.0"', '42');
    expect(() => parseRecordText(bad, 'idn.json')).toThrow(/identity\.userAgent/);
  });
});
