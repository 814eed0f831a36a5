/**
 * Login recipes as files: an ES module (`.ts`, `.mts`, `.js`, `.mjs`, `.cjs`) whose default
 * export is a {@link Recipe}. TypeScript recipes load without a build step (jiti, loaded only
 * when a recipe is). A session logged in from a file records it in `metadata.recipe`: the path,
 * the file's sha256 and the base URL, never anything the recipe reads (its credentials come from
 * the environment at run time), so `raptor login <name>` and `raptor keep` find it again later.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RaptorError } from '../core/errors.js';
import { parseIdentity } from '../core/identity.js';
import type { Json } from '../core/sanitize.js';
import type { SessionSummary } from '../core/record.js';
import { parseDuration } from '../core/duration.js';
import { redactKnownSecrets } from '../env/secrets.js';
import { firstLineOf } from '../core/error-text.js';
import type { Recipe } from './ensure.js';

/** Where a session's recipe is recorded, in its metadata. */
export const RECIPE_KEY = 'recipe';

/** A recipe file as a session records it. */
export interface RecipeRef {
  /** Absolute path of the module. */
  path: string;
  /** sha256 (hex) of the file when it was last used: tells whether it changed since. */
  sha256: string;
  /** The base URL its relative URLs resolve against (`--base-url`), if any. */
  baseURL?: string;
}

export interface LoadedRecipe {
  recipe: Recipe;
  ref: RecipeRef;
}

/** A recipe module bigger than this is not a recipe. */
const MAX_RECIPE_BYTES = 1024 * 1024;

/**
 * Recipes already evaluated in this process, by path, with the hash of the bytes they came from:
 * a keeper loads each session's recipe every turn (every 2 s, say), and only a file that changed
 * needs jiti again.
 */
const evaluated = new Map<string, { sha256: string; recipe: Recipe }>();

/** Loads the recipe module at `file` (relative to `cwd`), checked: `NOT_FOUND` or `INVALID_INPUT` with a way out. */
export async function loadRecipe(file: string, options: { baseURL?: string | undefined; cwd?: string } = {}): Promise<LoadedRecipe> {
  const path = resolve(options.cwd ?? process.cwd(), file);
  const bytes = await readRecipeFile(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const baseURL = options.baseURL === undefined ? undefined : checkBaseUrl(options.baseURL);
  const ref = { path, sha256, ...(baseURL ? { baseURL } : {}) };
  const known = evaluated.get(path);
  if (known?.sha256 === sha256) return { recipe: known.recipe, ref };
  let loaded: unknown;
  try {
    const { createJiti } = await import('jiti');
    // No disk cache: raptor writes only inside its own territory, and a recipe is small. No
    // module cache: a changed file must be evaluated again (unchanged ones are kept above).
    const jiti = createJiti(import.meta.url, { fsCache: false, moduleCache: false, interopDefault: true });
    loaded = await jiti.import(path, { default: true });
  } catch (error) {
    const message = redactKnownSecrets(firstLineOf(error));
    throw new RaptorError('INVALID_INPUT', `The recipe ${path} could not be loaded: ${message}. Fix the module, or import it alone (with Node, or tsx for TypeScript) to see the whole error.`, { cause: error });
  }
  const recipe = parseRecipe(loaded, path);
  evaluated.set(path, { sha256, recipe });
  return { recipe, ref };
}

/**
 * The recipe of session `name`: the file given, else the one recorded with the session (`head`
 * reads it; `undefined` when there is no session). A recorded file that changed since is used
 * as it is now, and recorded again by the next login.
 */
export async function loadRecipeFor(
  name: string,
  file: string | undefined,
  baseURL: string | undefined,
  head: () => Promise<Pick<SessionSummary, 'metadata'> | undefined>,
): Promise<LoadedRecipe> {
  if (file !== undefined) return loadRecipe(file, { baseURL });
  const session = await head();
  const ref = session && recordedRecipe(session);
  if (!ref) {
    const why = session ? 'has no recipe recorded' : 'does not exist yet';
    throw new RaptorError('USAGE', `Session \`${name}\` ${why}: give its login recipe once with \`raptor login ${name} --recipe <file>\` (docs/recipes.md); later logins and \`raptor keep\` use the one recorded.`);
  }
  return loadRecipe(ref.path, { baseURL: baseURL ?? ref.baseURL });
}

/** `value` as a recipe, or `INVALID_INPUT` naming the field that is wrong. */
export function parseRecipe(value: unknown, where: string): Recipe {
  const fail = (what: string): never => {
    throw new RaptorError(
      'INVALID_INPUT',
      `The recipe ${where} ${what}. A recipe's default export is \`{ login(page), check?(page), url?, maxAge?, authCookies?, identity? }\` (docs/recipes.md).`,
    );
  };
  if (!value || typeof value !== 'object') return fail('has no default export object');
  const recipe = value as Record<string, unknown>;
  if (typeof recipe['login'] !== 'function') fail('has no `login(page)` function');
  if (recipe['check'] !== undefined && typeof recipe['check'] !== 'function') fail('has a `check` that is not a function');
  if (recipe['url'] !== undefined && typeof recipe['url'] !== 'string') fail('has a `url` that is not a string');
  if (recipe['maxAge'] !== undefined) {
    if (typeof recipe['maxAge'] !== 'string' && typeof recipe['maxAge'] !== 'number') fail('has a `maxAge` that is neither a duration (`12h`) nor ms');
    parseDuration(recipe['maxAge'] as string | number, 'maxAge');
  }
  const cookies = recipe['authCookies'];
  if (cookies !== undefined && (!Array.isArray(cookies) || cookies.length === 0 || !cookies.every((c) => typeof c === 'string' && c.length > 0))) {
    fail('has `authCookies` that is not a list of cookie names');
  }
  if (recipe['identity'] !== undefined) parseIdentity(recipe['identity'], `recipe ${where}: identity`);
  return recipe as unknown as Recipe;
}

/** The recipe recorded with a session, if any (a malformed entry reads as none). */
export function recordedRecipe(session: Pick<SessionSummary, 'metadata'>): RecipeRef | undefined {
  const raw = session.metadata[RECIPE_KEY];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const { path, sha256, baseURL } = raw as Record<string, Json>;
  if (typeof path !== 'string' || typeof sha256 !== 'string') return undefined;
  return { path, sha256, ...(typeof baseURL === 'string' ? { baseURL } : {}) };
}

/** The metadata entry that records `ref`. */
export function recipeMetadata(ref: RecipeRef): Record<string, Json> {
  return { [RECIPE_KEY]: { ...ref } };
}

export function sameRecipe(a: RecipeRef | undefined, b: RecipeRef): boolean {
  return a !== undefined && a.path === b.path && a.sha256 === b.sha256 && a.baseURL === b.baseURL;
}

async function readRecipeFile(path: string): Promise<Buffer> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new RaptorError('INVALID_INPUT', `The recipe ${path} is not a file. Give the path of an ES module whose default export is the recipe.`);
    size = info.size;
  } catch (error) {
    if (error instanceof RaptorError) throw error;
    throw new RaptorError('NOT_FOUND', `There is no recipe at ${path}. Check the path given to \`--recipe\` (relative paths start at the current directory).`);
  }
  if (size > MAX_RECIPE_BYTES) throw new RaptorError('INVALID_INPUT', `The recipe ${path} is over ${MAX_RECIPE_BYTES / 1024} KiB: that is not a recipe.`);
  return readFile(path);
}

function checkBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RaptorError('USAGE', `\`${value}\` is not a URL. Give the base URL the recipe's relative URLs resolve against, e.g. \`--base-url https://app.example.com\`.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RaptorError('USAGE', `The base URL must be http or https, not \`${url.protocol}\`.`);
  if (url.username || url.password) throw new RaptorError('USAGE', 'The base URL must not carry a user name or password: it is recorded with the session. Give credentials to the recipe through the environment.');
  return url.href;
}
