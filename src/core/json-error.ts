/**
 * Where a text stops being JSON, said without quoting it. V8's own `JSON.parse` messages quote
 * the text around the error (`Unexpected token 'c', ..."token": cf43cfa9a0"... is not valid JSON`),
 * a short file whole: in a session or config file that text is a credential. raptor's messages,
 * warnings, `--json` issues and quarantine reason files use this instead.
 */

/** `invalid JSON at line 3 column 14`, or `the file is empty`. Never a character of `text`. */
export function describeJsonError(text: string): string {
  if (text.length === 0) return 'the file is empty';
  const offset = jsonErrorOffset(text);
  if (offset < 0) return 'invalid JSON';
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `invalid JSON at line ${line} column ${column}${offset >= text.length ? ' (unexpected end)' : ''}`;
}

/** `JSON.parse(text)`, throwing a `SyntaxError` whose message is `describeJsonError(text)`. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SyntaxError(describeJsonError(text));
  }
}

type State = 'value' | 'valueOrEnd' | 'key' | 'keyOrEnd' | 'afterValue';

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * The offset of the first character that makes `text` invalid JSON (`text.length` when it ends
 * too early), or -1 when it is valid. Iterative, so a hostile file nested a million deep is fine.
 */
export function jsonErrorOffset(text: string): number {
  const n = text.length;
  const stack: string[] = [];
  let i = 0;
  let state: State = 'value';
  const skipSpace = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i += 1;
  };
  /** Scans a string starting at `"`; returns false when it is malformed (i then points at the fault). */
  const scanString = (): boolean => {
    i += 1;
    while (i < n) {
      const ch = text[i]!;
      if (ch === '"') {
        i += 1;
        return true;
      }
      if (ch === '\\') {
        const next = text[i + 1];
        if (next !== undefined && '"\\/bfnrt'.includes(next)) i += 2;
        else if (next === 'u' && HEX4.test(text.slice(i + 2, i + 6))) i += 6;
        else return false;
      } else if (ch.charCodeAt(0) < 0x20) return false;
      else i += 1;
    }
    return false;
  };
  for (;;) {
    skipSpace();
    if (state === 'afterValue') {
      if (stack.length === 0) return i < n ? i : -1;
      if (i >= n) return i;
      const top = stack.at(-1);
      const ch = text[i];
      if (ch === ',') {
        i += 1;
        state = top === '{' ? 'key' : 'value';
      } else if ((ch === '}' && top === '{') || (ch === ']' && top === '[')) {
        stack.pop();
        i += 1;
      } else return i;
      continue;
    }
    if (i >= n) return i;
    const ch = text[i]!;
    if (state === 'key' || state === 'keyOrEnd') {
      if (state === 'keyOrEnd' && ch === '}') {
        stack.pop();
        i += 1;
        state = 'afterValue';
        continue;
      }
      if (ch !== '"' || !scanString()) return i;
      skipSpace();
      if (text[i] !== ':') return i;
      i += 1;
      state = 'value';
      continue;
    }
    // state is 'value' or 'valueOrEnd' (right after `[`, where `]` may close an empty array)
    const emptyArray = state === 'valueOrEnd' && ch === ']';
    state = 'afterValue';
    if (emptyArray) {
      stack.pop();
      i += 1;
    } else if (ch === '{') {
      stack.push('{');
      i += 1;
      state = 'keyOrEnd';
    } else if (ch === '[') {
      stack.push('[');
      i += 1;
      state = 'valueOrEnd';
    } else if (ch === '"') {
      if (!scanString()) return i;
    } else if (ch === 't' || ch === 'f' || ch === 'n') {
      const word = ch === 't' ? 'true' : ch === 'f' ? 'false' : 'null';
      if (!text.startsWith(word, i)) return i;
      i += word.length;
    } else {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      if (!match || match[0].length === 0) return i;
      i += match[0].length;
    }
  }
}
