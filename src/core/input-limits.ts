/**
 * The limits on what a user hands raptor to store with a session (tags, metadata), checked
 * once, before any browser or file is touched, by the library (`SessionManager.save`) and so
 * by every command built on it. Each refusal is `INVALID_INPUT` naming the limit (DESIGN.md:
 * metadata depth ≤ 32 and ≤ 1 MiB); nothing here recurses without a bound, so a value nested
 * 100,000 deep is an input error, not a stack overflow.
 *
 * Text typed by the user must be well-formed: a lone UTF-16 surrogate cannot be written as
 * UTF-8, and a control character in a tag would reach every terminal that lists it.
 */
import { RaptorError } from './errors.js';
import { MAX_METADATA_BYTES, MAX_METADATA_DEPTH } from './record.js';
import { sanitizeJson, type Json } from './sanitize.js';

export const MAX_TAGS = 100;
export const MAX_TAG_LENGTH = 100;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** `tags` as given, or `INVALID_INPUT` saying which tag breaks which rule (by position: the tag itself may be hostile). */
export function checkTags(tags: unknown, what = 'tag'): string[] {
  if (!Array.isArray(tags)) throw new RaptorError('INVALID_INPUT', `Tags must be a list of strings, e.g. \`['admin']\`.`);
  if (tags.length > MAX_TAGS) throw new RaptorError('INVALID_INPUT', `${tags.length} tags given; a session takes at most ${MAX_TAGS}.`);
  tags.forEach((tag: unknown, i) => {
    const which = `${capitalize(what)} ${i + 1}`;
    if (typeof tag !== 'string' || tag.length === 0) throw new RaptorError('INVALID_INPUT', `${which} is empty or not a string; a tag is 1–${MAX_TAG_LENGTH} characters.`);
    if ([...tag].length > MAX_TAG_LENGTH) throw new RaptorError('INVALID_INPUT', `${which} is ${[...tag].length} characters long; the limit is ${MAX_TAG_LENGTH}.`);
    if (CONTROL_CHARS.test(tag)) throw new RaptorError('INVALID_INPUT', `${which} contains a control character (newline, escape, DEL, ...); tags are plain text.`);
    if (!tag.isWellFormed()) throw new RaptorError('INVALID_INPUT', `${which} contains a lone UTF-16 surrogate; it is not valid text.`);
  });
  return tags as string[];
}

/** `metadata` as plain JSON within the limits, or `INVALID_INPUT` naming the first problem and the limit. */
export function checkMetadata(metadata: unknown, what = 'metadata'): Record<string, Json> {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new RaptorError('INVALID_INPUT', `${what} must be a JSON object, e.g. \`{"owner":"qa"}\`.`);
  }
  const { value, issues } = sanitizeJson(metadata, 'metadata', MAX_METADATA_DEPTH, { wellFormed: true });
  if (issues.length > 0) {
    const first = issues[0]!;
    const at = first.path === '' ? '' : ` at \`${first.path.length > 80 ? `${first.path.slice(0, 80)}…` : first.path}\``;
    const limit = first.code === 'TOO_DEEP' ? ` (the limit is ${MAX_METADATA_DEPTH} levels)` : '';
    throw new RaptorError('INVALID_INPUT', `${what} is not storable${at}: ${first.message}${limit}.`, { issues });
  }
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > MAX_METADATA_BYTES) {
    throw new RaptorError('INVALID_INPUT', `${what} is ${(bytes / 1048576).toFixed(1)} MiB as JSON; the limit is 1 MiB. Store large data elsewhere and keep a reference in metadata.`);
  }
  return value as Record<string, Json>;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
