// The dashboard's router: `#/<page>/<argument>` → the view module that draws it. Each view is
// `render(main, argument)` and returns a function that stops what it started (timers, streams).
import { h, clear } from './dom.js';
import { on } from './api.js';
import * as sessions from './sessions.js';
import * as session from './session.js';
import * as live from './live.js';
import * as crawls from './crawls.js';
import * as fleet from './fleet.js';

const VIEWS = { sessions, session, live, crawls, fleet };

let stopView = () => {};

async function route() {
  const [page = 'sessions', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const argument = rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined;
  const view = VIEWS[page] ?? VIEWS.sessions;
  for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('active', link.dataset.page === page || (page === 'session' && link.dataset.page === 'sessions'));
  stopView();
  const main = clear(document.getElementById('main'));
  try {
    stopView = (await view.render(main, argument)) ?? (() => {});
  } catch (error) {
    main.append(h('p', { class: 'error' }, error.message));
    stopView = () => {};
  }
}

async function start() {
  on('hello', () => {});
  window.addEventListener('hashchange', route);
  await route();
}

void start();
