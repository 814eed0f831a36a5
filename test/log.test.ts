import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from '../src/env/log.js';

function capture() {
  let text = '';
  const destination = new Writable({
    write(chunk, _enc, done) {
      text += chunk;
      done();
    },
  });
  return { destination, text: () => text };
}

describe('logs never carry credentials', () => {
  it('redacts cookies, storage state and values', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', destination: out.destination });
    logger.info({ storageState: { cookies: [{ value: 'COOKIE-SECRET' }] }, cookies: ['C2'], value: 'V-SECRET', session: { sessionStorage: { a: 'SS-SECRET' } } }, 'saved');
    expect(out.text()).toContain('saved');
    for (const secret of ['COOKIE-SECRET', 'C2', 'V-SECRET', 'SS-SECRET']) expect(out.text()).not.toContain(secret);
  });

  it('masks tokens and credentials in CDP URLs', () => {
    const out = capture();
    createLogger({ level: 'info', destination: out.destination }).info({ cdpUrl: 'wss://user:pw@cloud.example/devtools?token=TOKEN123' }, 'connect');
    expect(out.text()).not.toMatch(/TOKEN123|pw@/);
    // A URL without credentials comes back unchanged (not normalized: no added `/`).
    expect(redactUrl('http://127.0.0.1:9222')).toBe('http://127.0.0.1:9222');
  });
});
