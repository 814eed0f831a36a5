/**
 * The one URL-credential redactor. A URL's userinfo (`user:pass@`), its query values
 * (`?token=…`) and its fragment values are credentials: CDP endpoints of cloud browsers carry a
 * token there, `postgres://` URLs a password. Everything else (scheme, host, port, path) stays,
 * so a message still says where raptor tried to go.
 *
 * Textual, not `new URL()`: it must also work on URLs that do not parse (an echo of a typo must
 * not leak the password in it) and must not normalize what it leaves (no added trailing `/`).
 */

const MASK = '***';

/** scheme://authority path ?query #fragment */
const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/is;

/**
 * A URL anywhere in free text: a scheme, `://`, then up to a character that cannot be part of
 * an unquoted URL in a message (space, quote, backtick, bracket, backslash of a JSON escape).
 */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>()[\]{}\\]+/gi;

/** `url` with its credentials replaced by `***`; unchanged when it carries none. */
export function redactUrl(url: string): string {
  const parts = URL_PARTS.exec(url);
  if (!parts) return '<unparseable url>'; // never echo a string that could not be inspected
  const [, scheme, authority = '', path = '', query, fragment] = parts;
  const at = authority.lastIndexOf('@');
  const host = at < 0 ? authority : `${authority.slice(0, at).includes(':') ? `${MASK}:${MASK}` : MASK}@${authority.slice(at + 1)}`;
  return `${scheme}${host}${path}${query === undefined ? '' : `?${maskPairs(query.slice(1))}`}${fragment === undefined ? '' : `#${maskPairs(fragment.slice(1))}`}`;
}

/** Every URL in `text` redacted (messages, log lines, stack traces, command output). */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (found) => {
    // A sentence may end right after a URL: keep its punctuation out of the URL.
    const trailing = /[.,;:!]+$/.exec(found)?.[0] ?? '';
    return redactUrl(found.slice(0, found.length - trailing.length)) + trailing;
  });
}

/** `a=1&b` -> `a=***&***`: names stay (they say what was passed), values go. */
function maskPairs(pairs: string): string {
  if (pairs === '') return '';
  return pairs
    .split('&')
    .map((pair) => {
      if (pair === '') return pair;
      const eq = pair.indexOf('=');
      return eq < 0 ? MASK : `${pair.slice(0, eq)}=${MASK}`;
    })
    .join('&');
}
