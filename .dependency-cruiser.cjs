/**
 * raptor's layers, checked by `npm run lint` (dependency-cruiser). Imports point down only:
 * a module may import its own layer and the layers below it, never one above. The order, and
 * what each layer is for, is in docs/architecture.md ("Layers").
 *
 *   cli/                         the `raptor` command
 *   ui/                          `raptor ui`'s dashboard (may show crawls; never imports playwright/)
 *   playwright/  crawler/        the products built on the manager (never each other)
 *   keeper/                      `raptor keep`, beside them: keeps sessions logged in (imports neither)
 *   manager.ts                   SessionManager, the library's front door
 *   login/                       login recipes: reuse or log in, one path for every product
 *   maintenance/                 cleanup, leftovers, export/import, rekey
 *   store/  browser/             where sessions live / the browsers they run in (never each other)
 *   crypto/                      keys and sealing
 *   env/                         RAPTOR_HOME's paths, settings, logging
 *   fs/                          durable files, locks, territory
 *   core/                        the record, names, errors: pure, no I/O
 *
 * `src/index.ts` (the package's entry) may import anything except the crawler and Playwright
 * Test, which have entries of their own (`raptor-sessions/crawler`, `raptor-sessions/test`).
 */
const layers = [
  ['core', '^src/core/'],
  ['fs', '^src/fs/'],
  ['env', '^src/env/'],
  ['crypto', '^src/crypto/'],
  ['store', '^src/store/'],
  ['browser', '^src/browser/'],
  ['maintenance', '^src/maintenance/'],
  ['login', '^src/login/'],
  ['manager', '^src/manager\\.ts$'],
  ['keeper', '^src/keeper/'],
  ['crawler', '^src/crawler/'],
  ['playwright', '^src/playwright/'],
  ['ui', '^src/ui/'],
  ['cli', '^src/cli/'],
  ['index', '^src/index\\.ts$'],
];

/** Layers that sit side by side: neither may import the other. */
const siblings = [
  ['store', 'browser'],
  ['crawler', 'playwright'],
  ['keeper', 'crawler'],
  ['keeper', 'playwright'],
  ['playwright', 'ui'],
];

const rank = Object.fromEntries(layers.map(([name], i) => [name, i]));
const pathOf = Object.fromEntries(layers);

const upward = layers.flatMap(([name, from]) => {
  const above = layers.filter(([other]) => rank[other] > rank[name] && !siblings.some((pair) => pair.includes(name) && pair.includes(other)));
  if (above.length === 0) return [];
  return [
    {
      name: `${name}-imports-upward`,
      comment: `${name}/ may only import the layers below it (${layers
        .filter(([other]) => rank[other] < rank[name])
        .map(([other]) => other)
        .join(', ') || 'none'}); see docs/architecture.md, "Layers"`,
      severity: 'error',
      from: { path: from },
      to: { path: above.map(([, path]) => path) },
    },
  ];
});

const sideways = siblings.flatMap(([a, b]) => [
  { name: `${a}-imports-${b}`, comment: `${a}/ and ${b}/ are side by side: neither imports the other`, severity: 'error', from: { path: pathOf[a] }, to: { path: pathOf[b] } },
  { name: `${b}-imports-${a}`, comment: `${b}/ and ${a}/ are side by side: neither imports the other`, severity: 'error', from: { path: pathOf[b] }, to: { path: pathOf[a] } },
]);

module.exports = {
  forbidden: [
    ...upward.filter((rule) => rule.name !== 'index-imports-upward'),
    ...sideways,
    {
      name: 'index-imports-products',
      comment: 'the crawler and Playwright Test have their own package entries; the main entry must not load them',
      severity: 'error',
      from: { path: pathOf.index },
      to: { path: [pathOf.crawler, pathOf.playwright, pathOf.cli] },
    },
    {
      name: 'only-cli-imports-crawler',
      comment: 'no file outside crawler/, ui/ (its crawl charts) and cli/ imports the crawler',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/crawler/', '^src/ui/', '^src/cli/'] },
      to: { path: pathOf.crawler },
    },
    {
      name: 'no-circular',
      comment: 'modules that import each other cannot be read, or tested, one at a time',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-imports-tests',
      comment: 'the product never imports tests, fixtures, benches or examples',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|fixtures|bench|examples|scripts)/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.json'] },
  },
};
