import { describe, expect, it } from 'vitest';
import { fileNameFor, isSafeName } from '../src/core/names.js';

describe('session name -> file name', () => {
  it('keeps safe names as they are', () => {
    expect(fileNameFor('acme-admin')).toBe('acme-admin.json');
    expect(fileNameFor('a.b_c-1')).toBe('a.b_c-1.json');
  });

  it('hashes everything else into <slug>--<8 hex>.json', () => {
    expect(fileNameFor('Acme Admin')).toMatch(/^acme-admin--[0-9a-f]{8}\.json$/);
    expect(fileNameFor('../x')).toMatch(/^x--[0-9a-f]{8}\.json$/);
    expect(fileNameFor('日本語')).toMatch(/^session--[0-9a-f]{8}\.json$/);
  });

  it('never lets two names share a file: case twins, unicode twins, hash look-alikes', () => {
    const names = ['Acme', 'acme', 'ACME', 'café', 'cafe\u0301', 'x--00000000', 'x', 'con', 'CON', 'con.txt', 'a.', 'a'];
    const files = names.map(fileNameFor);
    expect(new Set(files).size).toBe(names.length);
  });

  it('hashes reserved device names and trailing dots', () => {
    for (const name of ['con', 'nul', 'com1', 'lpt9', 'con.txt', 'aux.json', 'a.']) expect(isSafeName(name), name).toBe(false);
  });

  it('produces file names that stay in the directory', () => {
    for (const name of ['..', '.', '/', '\\', 'a/../../b', '.hidden', '-x']) {
      const file = fileNameFor(name);
      expect(file).not.toMatch(/[/\\]/);
      expect(file.startsWith('.')).toBe(false);
    }
  });
});
