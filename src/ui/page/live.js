// The live view: a tile per tab of every kept-alive browser, each fed by its own screencast
// stream (`/api/live/frames`, SSE, base64 JPEG), and a large view of one tab with a take-over
// (mouse, wheel, keys, address bar) and "Save session". Names go in query parameters, encoded.
import { h, clear } from './dom.js';
import { getJson, send, on } from './api.js';

export async function render(main, argument) {
  if (argument) {
    let tab;
    try {
      tab = JSON.parse(argument);
    } catch {
      tab = undefined;
    }
    if (tab && typeof tab.session === 'string' && typeof tab.target === 'string') return large(main, tab);
  }
  return tiles(main);
}

const query = (session, target) => new URLSearchParams(target === undefined ? { session } : { session, target }).toString();
const linkTo = (session, target) => '#/live/' + encodeURIComponent(JSON.stringify({ session, target }));

/** A screencast stream into `img`; returns its stop. */
function stream(img, session, target, onFrame = () => {}, onFail = () => {}) {
  const source = new EventSource('/api/live/frames?' + query(session, target));
  source.addEventListener('frame', (event) => {
    const frame = JSON.parse(event.data);
    img.src = 'data:image/jpeg;base64,' + frame.data;
    img.dataset.seq = String(frame.seq);
    onFrame(frame);
  });
  source.addEventListener('failed', (event) => {
    onFail(JSON.parse(event.data).message);
    source.close();
  });
  return () => source.close();
}

async function tiles(main) {
  const status = h('span', { class: 'muted', id: 'live-count' }, 'Looking for kept-alive browsers…');
  const grid = h('div', { class: 'live-grid', id: 'live-tiles' });
  main.append(h('h1', {}, 'Live'), h('section', { class: 'toolbar' }, status), grid);
  // One stream per tile, kept while the tile is shown: `session\ntarget` → its stop and labels.
  const shown = new Map();
  let broken = [];
  const draw = async () => {
    const { browsers } = await getJson('/api/live/tabs');
    const wanted = new Set();
    for (const note of broken) note.remove();
    broken = [];
    let count = 0;
    for (const browser of browsers) {
      if (browser.error) {
        const note = h('div', { class: 'live-tile broken' }, h('strong', {}, browser.session), h('p', { class: 'error' }, browser.error));
        broken.push(note);
        grid.append(note);
      }
      for (const tab of browser.tabs) {
        count++;
        const key = browser.session + '\n' + tab.targetId;
        wanted.add(key);
        const known = shown.get(key);
        if (known) {
          known.title.textContent = tab.title || '(untitled)';
          known.url.textContent = tab.url;
          continue;
        }
        const img = h('img', { class: 'live-frame', alt: `live picture of ${tab.title || tab.url}` });
        const note = h('p', { class: 'muted live-note' });
        const title = h('span', { class: 'live-title' }, tab.title || '(untitled)');
        const url = h('span', { class: 'muted live-url' }, tab.url);
        const tile = h(
          'a',
          { class: 'live-tile', href: linkTo(browser.session, tab.targetId), dataset: { session: browser.session, target: tab.targetId } },
          h('div', { class: 'live-picture' }, img),
          h('strong', { class: 'live-session' }, browser.session),
          title,
          url,
          note,
        );
        grid.append(tile);
        const stop = stream(img, browser.session, tab.targetId, () => {}, (message) => (note.textContent = message));
        shown.set(key, { tile, title, url, stop });
      }
    }
    for (const [key, known] of shown) {
      if (wanted.has(key)) continue;
      known.stop();
      known.tile.remove();
      shown.delete(key);
    }
    status.textContent = count === 0 ? 'No kept-alive browser is running. `raptor launch <name>` starts one.' : `${count} tab${count === 1 ? '' : 's'} in ${browsers.length} browser${browsers.length === 1 ? '' : 's'}`;
  };
  await draw();
  // A browser launched, stopped or navigated meanwhile: its tiles follow (a change in the store, or every few seconds).
  let timer;
  const redraw = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void draw().catch((error) => (status.textContent = error.message)), 300);
  };
  const stopListening = on('session', redraw);
  const poll = setInterval(redraw, 5_000);
  return () => {
    stopListening();
    clearInterval(poll);
    clearTimeout(timer);
    for (const known of shown.values()) known.stop();
    shown.clear();
  };
}

const MODIFIERS = (e) => (e.altKey ? 1 : 0) | (e.ctrlKey ? 2 : 0) | (e.metaKey ? 4 : 0) | (e.shiftKey ? 8 : 0);
const BUTTON = ['left', 'middle', 'right'];

function large(main, { session, target }) {
  const img = h('img', { class: 'live-frame', id: 'live-screen', alt: 'live picture of the tab', draggable: 'false' });
  const screen = h('div', { class: 'live-screen', tabindex: '0', id: 'live-surface' }, img);
  const address = h('input', { type: 'text', id: 'live-address', 'aria-label': 'address', placeholder: 'https://…', spellcheck: 'false' });
  const takeover = h('button', { id: 'live-takeover', 'aria-pressed': 'false' }, 'Take over');
  const saveButton = h('button', { id: 'live-save', class: 'primary' }, 'Save session');
  const revision = h('span', { class: 'muted', id: 'live-revision' });
  const note = h('p', { class: 'muted', id: 'live-note' });
  let controlling = false;
  let queue = Promise.resolve();
  // Inputs in order, one at a time: a click must not overtake the move before it.
  const forward = (input) => {
    queue = queue.then(() => send('POST', '/api/live/input?' + query(session, target), input)).catch((error) => (note.textContent = error.message));
    return queue;
  };
  const nav = (action, extra = {}) => forward({ kind: 'navigate', action, ...extra });
  const toolbar = h(
    'section',
    { class: 'toolbar live-toolbar' },
    h('a', { href: '#/live' }, '← all tabs'),
    h('button', { id: 'live-back', onclick: () => nav('back') }, '←'),
    h('button', { id: 'live-forward', onclick: () => nav('forward') }, '→'),
    h('button', { id: 'live-reload', onclick: () => nav('reload') }, '⟳'),
    h(
      'form',
      {
        class: 'live-address',
        onsubmit: (e) => {
          e.preventDefault();
          void nav('goto', { url: address.value.trim() });
        },
      },
      address,
      h('button', { type: 'submit', id: 'live-go' }, 'Go'),
    ),
    takeover,
    saveButton,
    revision,
  );
  main.append(h('h1', {}, session), toolbar, screen, note);

  takeover.addEventListener('click', () => {
    controlling = !controlling;
    takeover.setAttribute('aria-pressed', String(controlling));
    takeover.textContent = controlling ? 'Release' : 'Take over';
    screen.classList.toggle('controlling', controlling);
    if (controlling) screen.focus();
  });

  saveButton.addEventListener('click', async () => {
    saveButton.disabled = true;
    try {
      const saved = await send('POST', '/api/live/save?' + query(session));
      revision.textContent = `saved: revision ${saved.revision}`;
      revision.dataset.revision = String(saved.revision);
    } catch (error) {
      revision.textContent = error.message;
    } finally {
      saveButton.disabled = false;
    }
  });

  const point = (e) => {
    const box = img.getBoundingClientRect();
    return { x: e.clientX - box.left, y: e.clientY - box.top, displayWidth: box.width, displayHeight: box.height, modifiers: MODIFIERS(e) };
  };
  let moving = false;
  img.addEventListener('mousemove', (e) => {
    if (!controlling || moving) return; // one move in flight at most
    moving = true;
    void forward({ kind: 'mouse', event: { type: 'mouseMoved', ...point(e) } }).finally(() => (moving = false));
  });
  img.addEventListener('mousedown', (e) => {
    if (!controlling) return;
    e.preventDefault();
    screen.focus();
    void forward({ kind: 'mouse', event: { type: 'mousePressed', button: BUTTON[e.button] ?? 'left', clickCount: e.detail || 1, ...point(e) } });
  });
  img.addEventListener('mouseup', (e) => {
    if (!controlling) return;
    e.preventDefault();
    void forward({ kind: 'mouse', event: { type: 'mouseReleased', button: BUTTON[e.button] ?? 'left', clickCount: e.detail || 1, ...point(e) } });
  });
  img.addEventListener('contextmenu', (e) => controlling && e.preventDefault());
  img.addEventListener(
    'wheel',
    (e) => {
      if (!controlling) return;
      e.preventDefault();
      void forward({ kind: 'mouse', event: { type: 'mouseWheel', deltaX: e.deltaX, deltaY: e.deltaY, ...point(e) } });
    },
    { passive: false },
  );
  const key = (type) => (e) => {
    if (!controlling) return;
    e.preventDefault();
    void forward({ kind: 'key', event: { type, key: e.key, code: e.code, modifiers: MODIFIERS(e) } });
  };
  screen.addEventListener('keydown', key('keyDown'));
  screen.addEventListener('keyup', key('keyUp'));
  screen.addEventListener('paste', (e) => {
    if (!controlling) return;
    e.preventDefault();
    const text = e.clipboardData?.getData('text') ?? '';
    if (text) void forward({ kind: 'text', text });
  });

  const stop = stream(img, session, target, () => {}, (message) => (note.textContent = message));
  void getJson('/api/live/tabs')
    .then(({ browsers }) => {
      const tab = browsers.find((b) => b.session === session)?.tabs.find((t) => t.targetId === target);
      if (tab && document.activeElement !== address) address.value = tab.url;
      const rev = browsers.find((b) => b.session === session)?.revision;
      if (rev !== undefined && !revision.textContent) revision.textContent = `revision ${rev}`;
    })
    .catch(() => {}); // only fills in the address bar and revision; the picture's own stream reports a dead tab
  return () => {
    stop();
    clear(main);
  };
}
