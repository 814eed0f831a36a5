// One session: its masked details (names, domains, counts, lengths: the server never sends a
// value) and its actions. Deleting asks for the name to be typed; downloading asks to confirm
// that the file holds credentials. Every change in the store to this session redraws it.
import { h, clear, relative, bytes } from './dom.js';
import { getJson, send, download, on } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';
const KINDS = [
  ['cookies', 'Cookies'],
  ['localStorage', 'localStorage'],
  ['sessionStorage', 'sessionStorage'],
  ['indexedDB', 'IndexedDB'],
  ['opfs', 'OPFS'],
  ['passkeys', 'Passkeys'],
];

export async function render(main, name) {
  if (!name) {
    main.append(h('p', { class: 'error' }, 'No session named. Pick one in the '), h('a', { href: '#/sessions' }, 'sessions table'));
    return () => {};
  }
  const title = h('h1', { id: 'session-name' }, name);
  const badges = h('span', { class: 'badges' });
  const errorBox = h('p', { class: 'error', id: 'session-error', role: 'alert', hidden: true });
  const notice = h('p', { class: 'notice', id: 'session-notice', hidden: true });
  const actions = h('div', { class: 'actions' });
  const panel = h('div', { id: 'session-panel' });
  const body = h('div', { id: 'session-body' });
  main.append(h('p', {}, h('a', { href: '#/sessions' }, '‹ all sessions')), h('div', { class: 'session-title' }, title, badges), errorBox, notice, actions, panel, body);

  let gone = false;
  const showError = (error) => {
    errorBox.hidden = false;
    errorBox.replaceChildren(h('code', { class: 'code' }, error.code ?? 'ERROR'), ' ', error.message);
  };
  const clearError = () => ((errorBox.hidden = true), errorBox.replaceChildren());
  const say = (...text) => ((notice.hidden = false), notice.replaceChildren(...text));
  const busy = async (button, work) => {
    button.disabled = true;
    clearError();
    try {
      await work();
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = gone;
    }
  };

  const validateButton = h('button', { id: 'action-validate' }, 'Validate (live)');
  const stopButton = h('button', { id: 'action-stop-browser' }, 'Stop browser');
  const downloadButton = h('button', { id: 'action-download' }, 'Download storage state…');
  const deleteButton = h('button', { id: 'action-delete', class: 'danger' }, 'Delete…');
  actions.append(validateButton, stopButton, downloadButton, deleteButton);

  validateButton.addEventListener('click', () =>
    busy(validateButton, async () => {
      const { result } = await send('POST', '/api/session/validate', { name });
      drawValidation(result);
    }),
  );
  stopButton.addEventListener('click', () =>
    busy(stopButton, async () => {
      const result = await send('POST', '/api/session/stop-browser', { name });
      say(result.stopped ? 'Stopped its browser.' : 'No browser raptor launched for it was running.', result.cleared ? ' Cleared its recorded CDP URL.' : '');
      await load();
    }),
  );
  downloadButton.addEventListener('click', () => {
    clear(panel).append(
      h(
        'div',
        { class: 'confirm', id: 'download-panel' },
        h('p', {}, h('strong', {}, 'This file holds the session\u2019s credentials'), ': every cookie and storage value, readable by anyone who gets the file. Keep it out of repositories and chats.'),
        h('button', { id: 'download-confirm', class: 'primary', onclick: (event) => busy(event.currentTarget, saveFile) }, 'Download the credentials'),
        ' ',
        h('button', { id: 'download-cancel', onclick: () => clear(panel) }, 'Cancel'),
      ),
    );
  });
  const saveFile = async () => {
    const { blob, fileName } = await download('/api/session/download', { name, confirm: name });
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: fileName, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    clear(panel);
    say('Downloaded ', h('code', {}, fileName), '.');
  };
  deleteButton.addEventListener('click', () => {
    const typed = h('input', { type: 'text', id: 'delete-confirm-name', 'aria-label': 'type the session name to confirm', autocomplete: 'off', spellcheck: 'false' });
    const confirm = h('button', { id: 'delete-confirm', class: 'danger', disabled: true }, 'Delete for good');
    typed.addEventListener('input', () => (confirm.disabled = typed.value !== name));
    confirm.addEventListener('click', () =>
      busy(confirm, async () => {
        await send('DELETE', '/api/session', { name, confirm: typed.value });
        markGone('Deleted. Its kept-alive browser, if any, was stopped.');
      }),
    );
    clear(panel).append(
      h(
        'div',
        { class: 'confirm', id: 'delete-panel' },
        h('p', {}, 'Deleting removes the saved login and its browser profile. Type the session\u2019s name to confirm:'),
        h('p', {}, h('code', { class: 'name' }, name)),
        typed,
        ' ',
        confirm,
        ' ',
        h('button', { id: 'delete-cancel', onclick: () => clear(panel) }, 'Cancel'),
      ),
    );
    typed.focus();
  });

  function markGone(message) {
    gone = true;
    for (const button of actions.querySelectorAll('button')) button.disabled = true;
    clear(panel);
    clear(body);
    badges.replaceChildren(h('span', { class: 'status expired' }, 'deleted'));
    say(message, ' ', h('a', { href: '#/sessions' }, 'Back to all sessions'));
  }

  function drawValidation(result) {
    const rows = result.issues.map((i) => h('li', {}, h('code', {}, i.code), ' ', i.path ? `${i.path}: ` : '', i.message));
    clear(panel).append(
      h(
        'div',
        { class: `validation ${result.valid ? 'ok' : 'bad'}`, id: 'validate-result' },
        h('strong', {}, result.valid ? 'valid' : result.expired ? 'expired' : 'invalid'),
        result.browser ? h('span', { class: 'muted' }, ` \u2014 browser: ${result.browser.status} (${result.browser.message})`) : '',
        rows.length > 0 ? h('ul', {}, rows) : '',
      ),
    );
  }

  let session;
  const load = async () => {
    const answer = await getJson(`/api/session?name=${encodeURIComponent(name)}`);
    session = answer.session;
    draw();
  };

  function draw() {
    const s = session;
    const now = Date.now();
    badges.replaceChildren(h('span', { class: `status ${s.status}` }, s.status), ' ', h('span', { class: `browser ${s.browser}` }, s.browser === 'none' ? 'no kept-alive browser' : `browser ${s.browser}`));
    const fields = [
      ['browser type', s.browserType],
      ['created', at(s.createdAt, now)],
      ['updated', at(s.updatedAt, now)],
      ['last used', at(s.lastAccessedAt, now)],
      ['expires', h('span', { class: 'countdown', id: 'session-expires', dataset: { at: s.expiresAt ?? '' } }, s.expiresAt ? `${s.expiresAt} (${relative(s.expiresAt, now)})` : 'never')],
      ['revision', String(s.revision)],
      ['size', bytes(s.bytes)],
      ['tags', s.tags.length > 0 ? s.tags.map((t) => h('span', { class: 'tag' }, t)) : '-'],
      ['metadata keys', s.metadataKeys.length > 0 ? s.metadataKeys.join(', ') : '-'],
      ['encrypted', s.encrypted ? 'yes' : 'no'],
    ];
    clear(body).append(
      h('dl', { class: 'fields', id: 'session-fields' }, fields.flatMap(([label, value]) => [h('dt', {}, label), h('dd', { dataset: { field: label } }, value)])),
      ...(s.stateUnavailable ? [h('p', { class: 'error' }, h('code', {}, s.stateUnavailable.code), ' ', s.stateUnavailable.message)] : []),
      h('h2', {}, 'State it holds'),
      h(
        'ul',
        { class: 'kinds', id: 'state-kinds' },
        KINDS.map(([key, label]) => h('li', { class: s.kinds[key] > 0 ? 'held' : 'absent', dataset: { kind: key, count: String(s.kinds[key]) } }, `${label}: ${s.kinds[key]}`)),
      ),
      h('h2', {}, `Cookies (${s.kinds.cookies})`),
      drawCookies(s.cookies, now),
      h('h2', {}, `Origins (${s.origins.length})`),
      drawOrigins(s.origins),
      ...(s.passkeys.length > 0 ? [h('h2', {}, `Passkeys (${s.passkeys.length})`), h('ul', { id: 'passkeys' }, s.passkeys.map((p) => h('li', {}, p.rpId || '?')))] : []),
      h('h2', {}, 'Identity'),
      drawIdentity(s.identity),
      h('h2', {}, 'Login'),
      drawLogin(s.login, now),
    );
  }

  const tick = setInterval(() => {
    const cell = body.querySelector('#session-expires');
    if (cell && cell.dataset.at) cell.textContent = `${cell.dataset.at} (${relative(cell.dataset.at)})`;
  }, 1000);
  const stopFeed = on('session', (data) => {
    if (gone || !data.event || data.event.name !== name) return;
    if (data.event.type === 'delete' || data.event.type === 'quarantine') markGone(data.event.type === 'delete' ? 'This session was deleted.' : 'This session was quarantined (its file is damaged).');
    else void load().catch(showError);
  });
  try {
    await load();
  } catch (error) {
    showError(error);
    if (error.code === 'NOT_FOUND') for (const button of actions.querySelectorAll('button')) button.disabled = true;
  }
  return () => {
    clearInterval(tick);
    stopFeed();
  };
}

function at(iso, now) {
  return h('span', { title: iso }, `${iso} (${relative(iso, now)})`);
}

/** Cookies by domain; each with a bar from now to its expiry on one scale per session. */
function drawCookies(groups, now) {
  if (groups.length === 0) return h('p', { class: 'muted', id: 'cookies' }, 'No cookies.');
  const nowS = now / 1000;
  const horizon = Math.max(nowS + 86_400, ...groups.flatMap((g) => g.cookies.filter((c) => !c.session).map((c) => c.expires)));
  return h(
    'div',
    { id: 'cookies' },
    groups.map((group) =>
      h(
        'section',
        { class: 'cookie-domain', dataset: { domain: group.domain } },
        h('h3', {}, group.domain, h('span', { class: 'muted' }, ` (${group.cookies.length})`)),
        h(
          'table',
          { class: 'cookies' },
          h('thead', {}, h('tr', {}, ['Name', 'Path', 'Flags', 'Value', 'Expires', 'Timeline'].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            group.cookies.map((c) => {
              const state = c.session ? 'session' : c.expires <= nowS ? 'expired' : 'persistent';
              const flags = [c.httpOnly ? 'httpOnly' : '', c.secure ? 'secure' : '', c.sameSite, c.partitioned ? 'partitioned' : ''].filter(Boolean).join(', ');
              return h(
                'tr',
                { class: `cookie ${state}`, dataset: { name: c.name, state } },
                h('td', { class: 'cookie-name' }, c.name),
                h('td', {}, c.path),
                h('td', { class: 'muted' }, flags),
                h('td', { class: 'muted' }, `${c.valueLength} chars`),
                h('td', { class: 'cookie-expiry' }, state === 'session' ? 'session cookie' : `${new Date(c.expires * 1000).toISOString()} (${relative(new Date(c.expires * 1000).toISOString(), now)})`),
                h('td', { class: 'timeline-cell' }, timeline(state, state === 'persistent' ? (c.expires - nowS) / (horizon - nowS) : 0)),
              );
            }),
          ),
        ),
      ),
    ),
  );
}

/** An SVG bar (attributes, not inline styles: the CSP allows no style attribute). */
function timeline(state, fraction) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', `timeline ${state}`);
  svg.setAttribute('viewBox', '0 0 100 8');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', state === 'session' ? 'ends with the browser' : state === 'expired' ? 'expired' : `${Math.round(fraction * 100)}% of the longest`);
  const track = document.createElementNS(SVG, 'rect');
  for (const [k, v] of [['class', 'track'], ['x', '0'], ['y', '0'], ['width', '100'], ['height', '8']]) track.setAttribute(k, v);
  svg.append(track);
  if (state !== 'expired') {
    const bar = document.createElementNS(SVG, 'rect');
    const width = state === 'session' ? 100 : Math.max(1, Math.min(100, fraction * 100));
    for (const [k, v] of [['class', 'bar'], ['x', '0'], ['y', '0'], ['width', String(width)], ['height', '8']]) bar.setAttribute(k, v);
    svg.append(bar);
  }
  return svg;
}

function drawOrigins(origins) {
  if (origins.length === 0) return h('p', { class: 'muted', id: 'origins' }, 'No origin storage.');
  const items = (label, list) => h('div', { class: 'items' }, h('span', { class: 'muted' }, `${label} (${list.length}): `), list.length === 0 ? 'none' : list.map((i) => h('span', { class: 'item', dataset: { name: i.name } }, i.name, h('span', { class: 'muted' }, ` ${i.valueLength} chars`))));
  return h(
    'div',
    { id: 'origins', class: 'cards' },
    origins.map((o) =>
      h(
        'section',
        { class: 'card origin', dataset: { origin: o.origin } },
        h('h3', {}, o.origin),
        items('localStorage', o.localStorage),
        items('sessionStorage', o.sessionStorage),
        h('div', { class: 'muted' }, `IndexedDB databases: ${o.indexedDB}, OPFS entries: ${o.opfs}`),
      ),
    ),
  );
}

/** The recipe recorded with the session and what `raptor keep` last did. */
function drawLogin(login, now) {
  if (!login) return h('p', { class: 'muted', id: 'login' }, 'No recipe: logged in by hand. `raptor login <name> --recipe <file>` records one.');
  const keep = login.keep;
  const rows = [
    ['recipe', login.recipe.path],
    ['recipe sha256', `${login.recipe.sha256}\u2026`],
    ['base URL', login.recipe.baseURL],
    ['kept', keep?.result ? `${keep.result}${keep.at ? ` ${relative(keep.at, now)}` : ''}` : 'not by `raptor keep` yet'],
    ['failures in a row', keep?.failures ? String(keep.failures) : undefined],
    ['next visit', keep?.nextAt ? `${keep.nextAt} (${relative(keep.nextAt, now)})` : undefined],
    ['last error', keep?.error],
  ].filter(([, value]) => value !== undefined && value !== '');
  return h('dl', { class: 'fields', id: 'login', dataset: { result: keep?.result ?? '' } }, rows.flatMap(([label, value]) => [h('dt', {}, label), h('dd', { dataset: { field: label } }, value)]));
}

function drawIdentity(identity) {
  if (!identity) return h('p', { class: 'muted', id: 'identity' }, 'None: the browser\u2019s own.');
  const { proxy, httpCredentials: basic } = identity;
  const rows = [
    ['user agent', identity.userAgent],
    ['locale', identity.locale],
    ['timezone', identity.timezoneId],
    ['viewport', identity.viewport],
    ['scale factor', identity.deviceScaleFactor],
    ['color scheme', identity.colorScheme],
    ['geolocation', identity.geolocation],
    ['permissions', identity.permissions?.join(', ')],
    ['proxy', proxy && [proxy.server, proxy.username !== undefined ? `user ${proxy.username}` : '', proxy.passwordLength !== undefined ? `password set (${proxy.passwordLength} chars)` : '', proxy.bypass ? `bypass ${proxy.bypass}` : ''].filter(Boolean).join(', ')],
    ['HTTP credentials', basic && `user ${basic.username}, password set (${basic.passwordLength} chars)${basic.origin ? `, for ${basic.origin}` : ''}`],
    ...identity.headers.map((header) => ['header', `${header.name}: (${header.valueLength} chars)`]),
  ].filter(([, value]) => value !== undefined && value !== '');
  return h('dl', { class: 'fields', id: 'identity' }, rows.flatMap(([label, value]) => [h('dt', {}, label), h('dd', {}, String(value))]));
}
