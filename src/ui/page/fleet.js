// The fleet: the pool's counts (overall and per tag), each session's usage, error score and refreshes by its lease holder, and
// who holds a lease until when. Re-read on every `session` event (a save, a release's accounting)
// and every `fleet` event (the server's lease poll saw a lease taken or released).
import { h, clear, relative } from './dom.js';
import { getJson, on } from './api.js';

const STATES = ['free', 'leased', 'retired', 'expired'];

export async function render(main) {
  const summary = h('span', { class: 'muted', id: 'fleet-updated' });
  const pools = h('tbody', { id: 'fleet-pools' });
  const leases = h('tbody', { id: 'fleet-leases' });
  const sessions = h('tbody', { id: 'fleet-sessions' });
  main.append(
    h('h1', {}, 'Fleet ', summary),
    h('h2', {}, 'Pools'),
    h('table', { class: 'fleet-pools' }, h('thead', {}, h('tr', {}, h('th', {}, 'Pool'), h('th', {}, 'Total'), STATES.map((s) => h('th', {}, s)))), pools),
    h('h2', {}, 'Lease holders'),
    h('table', { class: 'fleet-leases' }, h('thead', {}, h('tr', {}, h('th', {}, 'Session'), h('th', {}, 'Holder'), h('th', {}, 'Expires'))), leases),
    h('h2', {}, 'Sessions'),
    h(
      'table',
      { class: 'fleet-sessions' },
      h('thead', {}, h('tr', {}, ['Session', 'Tags', 'State', 'Uses', 'Error score', 'Refreshes', 'Lease holder'].map((c) => h('th', {}, c)))),
      sessions,
    ),
  );

  let timer;
  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    const view = await getJson('/api/fleet');
    if (mine !== generation) return;
    draw(view);
    summary.textContent = `${view.pools[0]?.total ?? 0} sessions, ${view.leases.length} leased`;
  };
  const showError = (error) => summary.replaceChildren(h('span', { class: 'error' }, error.message));
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void load().catch(showError), 100);
  };

  function draw(view) {
    const now = Date.now();
    clear(pools).append(
      ...view.pools.map((p) =>
        h(
          'tr',
          { dataset: { pool: p.tag ?? '' } },
          h('td', {}, p.tag === null ? h('span', { class: 'muted' }, 'all sessions') : h('span', { class: 'tag' }, p.tag)),
          h('td', { class: 'num' }, p.total),
          STATES.map((s) => h('td', { class: `num count ${s}`, dataset: { state: s } }, p[s])),
        ),
      ),
    );
    clear(leases).append(
      ...(view.leases.length === 0
        ? [h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'No lease is held.'))]
        : view.leases.map((l) =>
            h(
              'tr',
              { dataset: { name: l.name } },
              h('td', {}, h('a', { href: `#/session/${encodeURIComponent(l.name)}` }, l.name)),
              h('td', { class: 'holder' }, l.owner),
              h('td', { class: 'countdown', title: l.expiresAt, dataset: { at: l.expiresAt } }, relative(l.expiresAt, now)),
            ),
          )),
    );
    clear(sessions).append(
      ...(view.sessions.length === 0
        ? [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No sessions yet.'))]
        : view.sessions.map((s) =>
            h(
              'tr',
              { dataset: { name: s.name } },
              h('td', {}, h('a', { href: `#/session/${encodeURIComponent(s.name)}` }, s.name)),
              h('td', {}, s.tags.map((t) => h('span', { class: 'tag' }, t))),
              h('td', {}, h('span', { class: `pool-state ${s.state}`, title: s.retiredReason ?? '' }, s.retiredReason ? `${s.state} (${s.retiredReason})` : s.state)),
              h('td', { class: 'num uses' }, `${s.usageCount} / ${s.maxUsageCount}`),
              h('td', { class: 'num errors' }, h('meter', { min: 0, max: s.maxErrorScore, value: Math.min(s.errorScore, s.maxErrorScore) }), ` ${s.errorScore} / ${s.maxErrorScore}`),
              h('td', { class: 'num refreshes', title: s.lastRefreshAt ?? '' }, s.refreshes > 0 ? `${s.refreshes}${s.lastRefreshAt ? ` (last ${relative(s.lastRefreshAt, now)})` : ''}` : '-'),
              h('td', { class: 'holder' }, s.lease ? [s.lease.owner, ' ', h('span', { class: 'countdown muted', dataset: { at: s.lease.expiresAt } }, relative(s.lease.expiresAt, now))] : '-'),
            ),
          )),
    );
  }

  // The countdowns tick without asking the server.
  const tick = setInterval(() => {
    const now = Date.now();
    for (const cell of main.querySelectorAll('.countdown')) cell.textContent = relative(cell.dataset.at || null, now);
  }, 1000);
  const stopSessions = on('session', reload);
  const stopLeases = on('fleet', reload);
  await load();
  return () => {
    clearInterval(tick);
    clearTimeout(timer);
    stopSessions();
    stopLeases();
  };
}
