import { describe, expect, it } from 'vitest';
import { isRaptorError } from '../src/core/errors.js';
import { STATE_MARKER, newRecord, parseRecordText, parseRecordValue, serializeRecord } from '../src/core/record.js';

/** What Playwright 1.5x really writes, including keys it added over time. */
const playwrightState = {
  cookies: [
    { name: 'sid', value: 's3cr3t', domain: 'app.acme.test', path: '/', expires: -1, httpOnly: true, secure: true, sameSite: 'Strict' },
    {
      name: '__Host-part',
      value: 'p',
      domain: 'app.acme.test',
      path: '/',
      expires: 1900000000.5,
      httpOnly: false,
      secure: true,
      sameSite: 'None',
      partitionKey: 'https://top.acme.test',
      _crHasCrossSiteAncestor: true,
    },
  ],
  origins: [
    {
      origin: 'https://app.acme.test',
      localStorage: [{ name: 'token', value: 'abc' }],
      indexedDB: [
        {
          name: 'db',
          version: 3,
          stores: [{ name: 'kv', keyPath: 'id', autoIncrement: false, records: [{ value: { id: 1, when: { __type: 'Date', v: 1 } } }], indexes: [] }],
        },
      ],
    },
  ],
};

describe('session record', () => {
  it('round-trips the extra keys Playwright writes, unchanged', () => {
    const record = newRecord('acme', playwrightState as never);
    const back = parseRecordText(serializeRecord(record), 'acme.json');
    expect(back.storageState).toEqual(playwrightState);
  });

  it('writes the browser state last, after the marker list() stops at', () => {
    const text = serializeRecord(newRecord('acme', playwrightState as never, { metadata: { note: 'has "storageState": inside\n' } }));
    const at = text.indexOf(STATE_MARKER);
    expect(at).toBeGreaterThan(text.indexOf('"revision"'));
    expect(text.indexOf(STATE_MARKER, at + 1)).toBe(-1);
    expect(JSON.parse(`${text.slice(0, at).replace(/,\s*$/, '')}\n}`)).toMatchObject({ name: 'acme', metadata: { note: 'has "storageState": inside\n' } });
  });

  it('reports every schema problem with its path', () => {
    const bad = { ...newRecord('acme', playwrightState as never), browserType: 'netscape', revision: -1 };
    const error = (() => {
      try {
        parseRecordValue(bad);
      } catch (e) {
        return e;
      }
    })();
    expect(isRaptorError(error, 'INVALID_SESSION')).toBe(true);
    const paths = (error as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['browserType', 'revision']));
  });

  it('rejects a file whose name does not map to its file name', () => {
    expect(() => parseRecordText(serializeRecord(newRecord('acme', playwrightState as never)), 'other.json')).toThrow(/belongs in `acme.json`/);
  });

  it('refuses metadata deeper than 32 levels', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 40; i++) deep = deep['x'] = {};
    expect(() => parseRecordValue(newRecord('acme', playwrightState as never, { metadata: root as never }))).toThrow(/deeper than 32/);
  });

  it('reads a prototype-polluting file without polluting anything', () => {
    const text = serializeRecord(newRecord('acme', playwrightState as never)).replace('"metadata": {}', '"metadata": {"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}');
    const record = parseRecordText(text, 'acme.json');
    expect(record.metadata).toEqual({});
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('keeps unknown top-level keys from a newer minor writer', () => {
    const text = serializeRecord({ ...newRecord('acme', playwrightState as never), extra: [1, 2] } as never);
    expect((parseRecordText(text, 'acme.json') as Record<string, unknown>)['extra']).toEqual([1, 2]);
  });
});
