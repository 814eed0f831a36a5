/**
 * Strict UTF-8 decoding for every file raptor reads as text (session files, import files,
 * config). `buffer.toString('utf8')` silently turns invalid bytes into U+FFFD, so a damaged or
 * hostile file would read as a different, "valid" one; here it is refused instead. Overlong
 * forms, encoded surrogates (CESU-8) and truncated sequences are invalid too (simdutf's check).
 * A leading byte order mark is a UTF-8 signature that Windows tools write: it is dropped.
 */
import { isUtf8 } from 'node:buffer';

const BOM = [0xef, 0xbb, 0xbf] as const;

export function hasBom(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2];
}

/** The text of `bytes`, or `undefined` when they are not valid UTF-8. */
export function decodeUtf8(bytes: Buffer): string | undefined {
  const body = hasBom(bytes) ? bytes.subarray(3) : bytes;
  return isUtf8(body) ? body.toString('utf8') : undefined;
}
