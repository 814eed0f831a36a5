// The crawls view: one card per crawl under the home (status, what a restart would do, owner,
// heartbeat, health) with charts that grow with each `crawls` event. `#/crawls/<session>` shows
// one crawl large. Asking for `/api/crawls` every 10 s is what keeps the server sampling.
import { h, span } from './dom.js';
import { getJson, on } from './api.js';

const RESYNC_MS = 10_000;
const MAX_POINTS = 3600;

export async function render(main, argument) {
  const large = argument !== undefined;
  const list = h('div', { id: 'crawl-cards', class: large ? 'crawl-cards large' : 'crawl-cards' });
  const empty = h('p', { id: 'crawl-empty', class: 'muted', hidden: true }, 'No crawl under this home yet. A crawl appears here as soon as it starts.');
  main.append(
    h('div', { class: 'toolbar' }, h('h2', {}, large ? `Crawl ${argument}` : 'Crawls'), large ? h('a', { href: '#/crawls' }, 'all crawls') : null),
    empty,
    list,
  );
  const cards = new Map();

  const show = (views, replace) => {
    const present = new Set();
    for (const view of views) {
      if (large && view.report.session !== argument) continue;
      present.add(view.report.session);
      let card = cards.get(view.report.session);
      if (!card) {
        card = new Card(view.report.session, large);
        cards.set(view.report.session, card);
        list.append(card.element);
      }
      if (replace) card.reset(view.series);
      else card.add(view.point);
      card.describe(view.report);
    }
    for (const [session, card] of cards) {
      if (present.has(session)) continue;
      card.destroy();
      cards.delete(session);
    }
    empty.hidden = cards.size > 0;
  };

  const resync = async () => {
    const query = large ? `?session=${encodeURIComponent(argument)}` : '';
    const answer = await getJson(`/api/crawls${query}`);
    show(answer.crawls, true);
  };
  await resync();
  const stopEvents = on('crawls', (data) => show(data.crawls.map((c) => ({ report: c.report, point: c.point })), false));
  // A failed resync is retried at the next tick; the feed badge already says when the server is gone.
  const timer = setInterval(() => void resync().catch(() => {}), RESYNC_MS);
  return () => {
    clearInterval(timer);
    stopEvents();
    for (const card of cards.values()) card.destroy();
  };
}

class Card {
  constructor(session, large) {
    this.session = session;
    this.large = large;
    this.points = [];
    const field = (name) => h('dd', { class: `crawl-${name}` });
    this.fields = { status: h('span', { class: 'crawl-status' }), strategy: field('strategy'), reason: field('reason'), owner: field('owner'), heartbeat: field('heartbeat'), health: field('health'), done: field('done') };
    const chart = (name) => h('div', { class: `crawl-chart chart-${name}`, dataset: { chart: name, points: '0' } });
    this.holders = { progress: chart('progress'), rate: chart('rate'), health: chart('health') };
    this.element = h(
      'article',
      { class: 'card crawl-card', dataset: { session } },
      h('h3', {}, large ? session : h('a', { href: `#/crawls/${encodeURIComponent(session)}` }, session), ' ', this.fields.status),
      h(
        'dl',
        { class: 'fields' },
        h('dt', {}, 'recommendation'), this.fields.strategy,
        h('dt', {}, 'why'), this.fields.reason,
        h('dt', {}, 'owner'), this.fields.owner,
        h('dt', {}, 'heartbeat'), this.fields.heartbeat,
        h('dt', {}, 'health'), this.fields.health,
        h('dt', {}, 'done'), this.fields.done,
      ),
      h('div', { class: 'crawl-charts' }, this.holders.progress, this.holders.rate, this.holders.health),
    );
    this.charts = undefined;
  }

  describe(report) {
    const f = this.fields;
    f.status.textContent = report.status;
    f.status.className = `crawl-status status-${report.status}`;
    this.element.dataset.status = report.status;
    f.strategy.textContent = report.recommendation.strategy;
    f.reason.textContent = report.recommendation.reason;
    f.owner.textContent = report.owner ? `pid ${report.owner.pid} on ${report.owner.host} (${report.owner.alive ? 'alive' : 'gone'})` : 'none';
    f.heartbeat.textContent = report.heartbeatAgeMs === null ? 'never' : `${span(report.heartbeatAgeMs)} ago`;
    f.health.textContent = report.health === null ? '–' : `${Math.round(report.health * 100)} %`;
    const p = report.progress;
    f.done.textContent = p ? `${p.completed} of ${p.total} (${p.pending + p.inFlight} left, ${p.failed} failed)` : 'unknown';
    f.done.dataset.completed = String(p ? p.completed : 0);
    f.done.dataset.failed = String(p ? p.failed : 0);
    f.done.dataset.total = String(p ? p.total : 0);
  }

  reset(series) {
    this.points = series.slice(-MAX_POINTS);
    this.draw();
  }

  add(point) {
    this.points.push(point);
    if (this.points.length > MAX_POINTS) this.points.splice(0, this.points.length - MAX_POINTS);
    this.draw();
  }

  draw() {
    const p = this.points;
    const t = p.map((x) => x.t / 1000);
    const data = {
      progress: [t, p.map((x) => x.completed), p.map((x) => x.pending + x.inFlight), p.map((x) => x.failed)],
      rate: [t, p.map((x) => x.ppm)],
      health: [t, p.map((x) => (x.health === null ? null : x.health * 100)), p.map((x) => (x.heartbeatAgeMs === null ? null : x.heartbeatAgeMs / 1000))],
    };
    if (!this.charts && window.uPlot && this.element.isConnected) this.charts = this.create(data);
    else if (this.charts) for (const [name, chart] of Object.entries(this.charts)) chart.setData(data[name]);
    for (const holder of Object.values(this.holders)) holder.dataset.points = String(p.length);
  }

  create(data) {
    const width = this.large ? Math.max(480, this.element.clientWidth - 40) : 300;
    const height = this.large ? 220 : 130;
    const make = (holder, title, series, axes, scales) =>
      new window.uPlot({ title, width, height, series: [{}, ...series], axes: [{}, ...axes], scales: { x: { time: true }, ...scales }, legend: { show: this.large } }, data[holder.dataset.chart], holder);
    return {
      progress: make(this.holders.progress, 'progress', [
        { label: 'done', stroke: '#1d8a4a' },
        { label: 'pending', stroke: '#2d5bd7' },
        { label: 'failed', stroke: '#c53030' },
      ], [{}], {}),
      rate: make(this.holders.rate, 'pages per minute', [{ label: 'pages/min', stroke: '#2d5bd7', spanGaps: true }], [{}], {}),
      health: make(this.holders.health, 'health (%) and heartbeat age (s)', [
        { label: 'health %', stroke: '#1d8a4a', scale: 'pct' },
        { label: 'heartbeat age s', stroke: '#b7791f', scale: 's' },
      ], [{ scale: 'pct' }, { scale: 's', side: 1 }], { pct: { range: [0, 100] } }),
    };
  }

  destroy() {
    for (const chart of Object.values(this.charts ?? {})) chart.destroy();
    this.charts = undefined;
    this.element.remove();
  }
}
