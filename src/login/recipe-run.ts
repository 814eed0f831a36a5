/**
 * What every recipe-driven call of the manager does before its real work (`ensure`,
 * `refreshLease`): resolve the recipe (an object, a file, or the one recorded with the session),
 * settle the base URL (the recorded one, else the caller's), and hand out a browser that is
 * launched only if a check or a login needs one, and closed again after.
 */
import type { Browser, BrowserContextOptions } from 'playwright-core';
import { launchBrowser, type BrowserLaunchOptions } from '../browser/launch.js';
import type { SessionSummary } from '../core/record.js';
import type { Recipe } from './ensure.js';
import { loadRecipeFor, parseRecipe, type RecipeRef } from './recipe.js';

export interface RecipeRunOptions {
  baseURL?: string | undefined;
  contextOptions?: BrowserContextOptions | undefined;
  browser?: Browser | undefined;
  launchOptions?: BrowserLaunchOptions | undefined;
}

export interface RecipeRun {
  recipe: Recipe;
  /** The recipe file, when the recipe came from one: what the session records. */
  ref: RecipeRef | undefined;
  /** The caller's context options with the base URL. */
  contextOptions: BrowserContextOptions;
  getBrowser(): Promise<Browser>;
}

/** Runs `work` with session `name`'s recipe; `head` reads the session's metadata for a recorded one. */
export async function withRecipe<T>(
  name: string,
  recipe: Recipe | string | undefined,
  options: RecipeRunOptions,
  head: () => Promise<Pick<SessionSummary, 'metadata'> | undefined>,
  work: (run: RecipeRun) => Promise<T>,
): Promise<T> {
  const loaded = typeof recipe === 'object' ? { recipe: parseRecipe(recipe, `for \`${name}\``), ref: undefined } : await loadRecipeFor(name, recipe, options.baseURL, head);
  const baseURL = loaded.ref?.baseURL ?? options.baseURL;
  const contextOptions = { ...(baseURL ? { baseURL } : {}), ...options.contextOptions };
  let browser = options.browser;
  let launched: Browser | undefined;
  const getBrowser = async (): Promise<Browser> => (browser ??= launched = await launchBrowser('chromium', options.launchOptions));
  try {
    return await work({ recipe: loaded.recipe, ref: loaded.ref, contextOptions, getBrowser });
  } finally {
    await launched?.close().catch(() => undefined);
  }
}
