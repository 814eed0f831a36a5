/**
 * How a session stays logged in, as its dashboard page shows it: the recipe recorded with it
 * (`raptor login --recipe`) and what `raptor keep` last did (`metadata.keep`). Read by an
 * allow-list like the rest of the page: the recipe's path, hash prefix and base URL (never
 * credentials: none are recorded), and the keeper's step, times, failure count and message.
 */
import type { Json } from '../core/sanitize.js';
import { redactUrl } from '../core/redact-url.js';
import { recordedRecipe } from '../login/recipe.js';

export interface KeepView {
  at?: string;
  result?: string;
  failures?: number;
  nextAt?: string;
  error?: string;
}

export interface LoginView {
  recipe: { path: string; sha256: string; baseURL?: string };
  keep?: KeepView;
}

const MAX_ERROR_CHARS = 300;
const KEEP_RESULTS = new Set(['refreshed', 'logged-in', 'failed', 'skipped', 'conflict']);

/** The session's login, or `null` for one no recipe logs in. */
export function loginView(metadata: Record<string, Json>): LoginView | null {
  const ref = recordedRecipe({ metadata });
  if (!ref) return null;
  const keep = keepView(metadata['keep']);
  return {
    recipe: { path: ref.path, sha256: ref.sha256.slice(0, 12), ...(ref.baseURL ? { baseURL: redactUrl(ref.baseURL) } : {}) },
    ...(keep ? { keep } : {}),
  };
}

function keepView(raw: Json | undefined): KeepView | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const time = (value: Json | undefined): string | undefined => (typeof value === 'string' && Number.isFinite(Date.parse(value)) ? value : undefined);
  const view: KeepView = {};
  const at = time(raw['at']);
  const nextAt = time(raw['nextAt']);
  if (at) view.at = at;
  if (nextAt) view.nextAt = nextAt;
  if (typeof raw['result'] === 'string' && KEEP_RESULTS.has(raw['result'])) view.result = raw['result'];
  if (typeof raw['failures'] === 'number' && Number.isFinite(raw['failures'])) view.failures = raw['failures'];
  if (typeof raw['error'] === 'string') view.error = raw['error'].slice(0, MAX_ERROR_CHARS);
  return Object.keys(view).length > 0 ? view : undefined;
}
