// dashboard.js -- GET /api/analytics/summary as two charts (chart.js) and
// the same numbers as tables, refreshed every config.refreshSeconds.
import { Chart, BarController, BarElement, CategoryScale, LinearScale, Tooltip } from 'chart.js';
import { h, mount, focusMain } from './dom.js';
import { api, problemMessage } from './api.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);
const DAYS = 30;   // the chart shows the latest days that have registrations
let timer = null;
let charts = [];

export function stopDashboard() {
  clearTimeout(timer);
  charts.forEach((c) => c.destroy());
  charts = [];
}

function table(id, caption, head, rows) {
  return h('div', { class: 'scroll' }, h('table', { id, class: 'numbers' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'num' }, v.toLocaleString('en')))))));
}

function chart(canvas, labels, data, label) {
  return new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets: [{ label, data, backgroundColor: '#1f4e9c' }] },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { beginAtZero: true, ticks: { color: '#222', precision: 0 } }, x: { ticks: { color: '#222' } } },
    },
  });
}

export function dashboardView(refreshSeconds) {
  stopDashboard();
  const status = h('p', { id: 'updated', class: 'state', role: 'status' }, 'Loading analytics…');
  const body = h('div', { id: 'dash-body' });
  mount(h('section', {}, h('h1', { tabindex: '-1' }, 'Dashboard'), status, body), 'Dashboard');
  focusMain();
  const load = async () => {
    try {
      const res = await api('/api/analytics/summary');
      if (!res.ok) {
        status.replaceChildren(h('span', { class: 'error', role: 'alert' }, problemMessage(res)));
      } else {
        render(res.body || {}, body);
        status.textContent = `Updated ${new Date().toLocaleTimeString('en-GB')}; refreshed every ${refreshSeconds} s.`;
      }
    } catch (e) {
      status.replaceChildren(h('span', { class: 'error', role: 'alert' }, e.message));
    }
    if (document.getElementById('dash-body') === body) timer = setTimeout(load, refreshSeconds * 1000);
  };
  load();
}

function render(summary, body) {
  charts.forEach((c) => c.destroy());
  charts = [];
  const events = Object.entries(summary.eventsByType || {}).sort((a, b) => a[0].localeCompare(b[0]));
  const days = Object.entries(summary.registrationsPerDay || {}).sort((a, b) => a[0].localeCompare(b[0])).slice(-DAYS);
  const regCanvas = h('canvas', { id: 'chart-registrations', role: 'img', 'aria-label': `Bar chart of registrations per day, the latest ${days.length} days; the numbers are in the table below` });
  const evCanvas = h('canvas', { id: 'chart-events', role: 'img', 'aria-label': 'Bar chart of events by type; the numbers are in the table below' });
  body.replaceChildren(
    h('div', { class: 'panels' },
      h('section', { class: 'panel', 'aria-labelledby': 'h-events' },
        h('h2', { id: 'h-events' }, 'Events by type'),
        h('div', { class: 'chart' }, evCanvas),
        table('table-events', 'Events by type', ['Type', 'Events'], events)),
      h('section', { class: 'panel', 'aria-labelledby': 'h-reg' },
        h('h2', { id: 'h-reg' }, `Registrations per day (latest ${days.length} days)`),
        h('div', { class: 'chart' }, regCanvas),
        table('table-registrations', 'Registrations per day', ['Day', 'Registrations'], days.slice().reverse()))));
  charts.push(chart(evCanvas, events.map((e) => e[0]), events.map((e) => e[1]), 'Events'));
  charts.push(chart(regCanvas, days.map((d) => d[0]), days.map((d) => d[1]), 'Registrations'));
}
