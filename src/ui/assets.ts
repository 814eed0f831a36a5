/**
 * The dashboard's page: plain HTML, CSS and ES modules in `src/ui/page/`, shipped in the package
 * as they are (no build step, nothing fetched from a network), plus uPlot's own files from its
 * package. Read once at start into memory; only these names are served, so no request path ever
 * reaches the file system.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: string;
  type: string;
}

// `dist/ui/assets.js` and `src/ui/assets.ts` sit at the same depth, so from either one
// `../../src/ui/page` is the package's page folder (the package ships `src`).
const PAGE_DIR = fileURLToPath(new URL('../../src/ui/page/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** `/path` → asset. `/vendor/uplot.js` and `/vendor/uplot.css` come from the uplot package. */
export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(PAGE_DIR)) {
    const type = TYPES[extname(name)];
    if (type !== undefined) assets.set(`/${name}`, { body: readFileSync(join(PAGE_DIR, name), 'utf8'), type });
  }
  const require = createRequire(import.meta.url);
  const uplotDir = join(require.resolve('uplot'), '..');
  assets.set('/vendor/uplot.js', { body: readFileSync(join(uplotDir, 'uPlot.iife.min.js'), 'utf8'), type: TYPES['.js']! });
  assets.set('/vendor/uplot.css', { body: readFileSync(join(uplotDir, 'uPlot.min.css'), 'utf8'), type: TYPES['.css']! });
  return assets;
}

/** The page, with the CSRF token where its scripts read it (a meta tag: no inline script under the CSP). */
export function indexPage(assets: Map<string, Asset>, csrf: string): string {
  const page = assets.get('/index.html');
  if (page === undefined) throw new Error('src/ui/page/index.html is missing from the package');
  return page.body.replace('__RAPTOR_CSRF__', csrf);
}
