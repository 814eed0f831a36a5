// The sessions table: search, filters and pages come from the server (`/api/sessions`), so
// 10,000 sessions cost one page of rows. Any change in the store re-reads the page shown.
import { h, clear, relative, bytes } from './dom.js';
import { getJson, on } from './api.js';

const PAGE_SIZE = 50;
const COLUMNS = [
  { key: 'name', label: 'Name', sort: 'name' },
  { key: 'tags', label: 'Tags' },
  { key: 'status', label: 'Validity' },
  { key: 'expiresAt', label: 'Expires', sort: 'expiresAt' },
  { key: 'updatedAt', label: 'Updated', sort: 'updatedAt' },
  { key: 'bytes', label: 'Size', sort: 'bytes' },
  { key: 'revision', label: 'Rev', sort: 'revision' },
  { key: 'browser', label: 'Browser' },
  { key: 'lease', label: 'Lease holder' },
];

export async function render(main) {
  const state = { q: '', tag: '', status: '', sort: 'name', desc: false, offset: 0 };
  const search = h('input', { type: 'search', placeholder: 'Search names and tags', 'aria-label': 'search', id: 'session-search' });
  const tagFilter = h('select', { 'aria-label': 'tag', id: 'tag-filter' }, h('option', { value: '' }, 'all tags'));
  const statusFilter = h(
    'select',
    { 'aria-label': 'validity', id: 'status-filter' },
    ['', 'valid', 'expiring', 'expired', 'retired'].map((s) => h('option', { value: s }, s === '' ? 'any validity' : s)),
  );
  const summary = h('span', { class: 'muted', id: 'session-count' });
  const head = h('tr');
  const body = h('tbody', { id: 'session-rows' });
  const pager = h('div', { class: 'pager' });
  main.append(h('section', { class: 'toolbar' }, search, tagFilter, statusFilter, summary), h('table', { class: 'sessions' }, h('thead', {}, head), body), pager);

  let rows = [];
  let timer;
  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    const params = new URLSearchParams({ offset: String(state.offset), limit: String(PAGE_SIZE), sort: state.sort });
    if (state.q) params.set('q', state.q);
    if (state.tag) params.set('tag', state.tag);
    if (state.status) params.set('status', state.status);
    if (state.desc) params.set('desc', '1');
    const page = await getJson(`/api/sessions?${params}`);
    if (mine !== generation) return; // a newer request is on its way
    rows = page.rows;
    drawHead();
    drawRows();
    drawTags(page.tags);
    summary.textContent = `${page.total} session${page.total === 1 ? '' : 's'}`;
    drawPager(page.total);
  };
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void load().catch(showError), 100);
  };
  const showError = (error) => summary.replaceChildren(h('span', { class: 'error' }, error.message));

  function drawHead() {
    clear(head).append(
      ...COLUMNS.map((c) =>
        h(
          'th',
          c.sort ? { class: 'sortable', onclick: () => ((state.desc = state.sort === c.sort ? !state.desc : false), (state.sort = c.sort), reload()) } : {},
          c.label,
          state.sort === c.sort ? (state.desc ? ' ▼' : ' ▲') : '',
        ),
      ),
    );
  }

  function drawRows() {
    const now = Date.now();
    clear(body).append(
      ...(rows.length === 0
        ? [h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'muted' }, 'No sessions match. Save one with `raptor save <name>`.'))]
        : rows.map((r) =>
            h(
              'tr',
              { dataset: { name: r.name } },
              h('td', {}, h('a', { href: `#/session/${encodeURIComponent(r.name)}` }, r.name)),
              h('td', {}, r.tags.map((t) => h('span', { class: 'tag' }, t))),
              h('td', {}, h('span', { class: `status ${r.status}` }, r.status)),
              h('td', { class: 'countdown', dataset: { at: r.expiresAt ?? '' } }, relative(r.expiresAt, now)),
              h('td', { title: r.updatedAt }, relative(r.updatedAt, now)),
              h('td', { class: 'num' }, bytes(r.bytes)),
              h('td', { class: 'num' }, r.revision),
              h('td', {}, h('span', { class: `browser ${r.browser}` }, r.browser === 'none' ? '-' : r.browser)),
              h('td', {}, r.lease ? `${r.lease.owner} (${relative(r.lease.expiresAt, now)})` : '-'),
            ),
          )),
    );
  }

  function drawTags(tags) {
    const chosen = state.tag;
    clear(tagFilter).append(h('option', { value: '' }, 'all tags'), ...tags.map((t) => h('option', { value: t.tag, selected: t.tag === chosen }, `${t.tag} (${t.count})`)));
  }

  function drawPager(total) {
    const last = Math.max(0, Math.ceil(total / PAGE_SIZE) - 1);
    const current = Math.floor(state.offset / PAGE_SIZE);
    const go = (n) => () => ((state.offset = n * PAGE_SIZE), reload());
    clear(pager).append(
      h('button', { disabled: current === 0, onclick: go(current - 1) }, '‹ previous'),
      h('span', { class: 'muted' }, ` page ${current + 1} of ${last + 1} `),
      h('button', { disabled: current >= last, onclick: go(current + 1) }, 'next ›'),
    );
  }

  search.addEventListener('input', () => ((state.q = search.value), (state.offset = 0), reload()));
  tagFilter.addEventListener('change', () => ((state.tag = tagFilter.value), (state.offset = 0), reload()));
  statusFilter.addEventListener('change', () => ((state.status = statusFilter.value), (state.offset = 0), reload()));

  // The countdowns tick without asking the server.
  const tick = setInterval(() => {
    const now = Date.now();
    for (const cell of body.querySelectorAll('td.countdown')) cell.textContent = relative(cell.dataset.at || null, now);
  }, 1000);
  const stopFeed = on('session', reload);
  const stopLeases = on('fleet', reload); // a lease taken or released
  await load();
  return () => {
    clearInterval(tick);
    clearTimeout(timer);
    stopFeed();
    stopLeases();
  };
}
