// app.js -- the console's entry: loads config.json, signs in (auth.js),
// and routes on the location hash.
import './style.css';
import { h, mount, focusMain } from './dom.js';
import * as auth from './auth.js';
import { listView, detailView, formView } from './patients.js';
import { dashboardView, stopDashboard } from './dashboard.js';

let config = null;

function signInView(error) {
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  mount(h('section', { class: 'signin' },
    h('h1', { tabindex: '-1' }, 'Sign in'),
    error ? h('div', { class: 'error', role: 'alert' }, error) : null,
    h('p', {}, 'Staff sign in with their pms account through the identity provider.'),
    h('button', { type: 'button', id: 'signin', onclick: () => auth.signIn() }, 'Sign in')), 'Sign in');
  focusMain();
}

function route() {
  stopDashboard();
  if (!auth.signedIn()) {
    signInView();
    return;
  }
  const u = auth.user();
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  document.getElementById('who').textContent = `${u.name}${u.canWrite ? '' : ' (read only)'}`;
  const notice = sessionStorage.getItem('pms-console.notice');
  sessionStorage.removeItem('pms-console.notice');
  document.getElementById('notice').textContent = notice || '';
  const hash = location.hash.replace(/^#/, '') || '/patients';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean);
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${parts[0]}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (parts[0] === 'dashboard') dashboardView(config.refreshSeconds || 30);
  else if (parts[0] === 'patients' && parts[1] === 'new') formView(null);
  else if (parts[0] === 'patients' && parts[1] && parts[2] === 'edit') formView(parts[1]);
  else if (parts[0] === 'patients' && parts[1]) detailView(parts[1]);
  else if (parts[0] === 'patients' || parts.length === 0) listView(params);
  else {
    mount(h('section', {}, h('h1', { tabindex: '-1' }, 'Not found'), h('p', {}, h('a', { href: '#/patients' }, 'Go to the patient list'))), 'Not found');
    focusMain();
  }
}

async function start() {
  document.getElementById('logout').addEventListener('click', () => auth.signOut());
  try {
    config = await (await fetch('/config.json', { cache: 'no-cache' })).json();
  } catch {
    mount(h('div', { class: 'error', role: 'alert' }, 'The console configuration (config.json) could not be loaded.'));
    return;
  }
  try {
    await auth.init(config);
  } catch (e) {
    signInView(e.message.includes('identity provider') || e instanceof TypeError
      ? 'The identity provider cannot be reached; try again shortly.' : e.message);
    window.addEventListener('hashchange', route);
    return;
  }
  auth.onChange(() => { if (!auth.signedIn()) route(); });
  window.addEventListener('hashchange', route);
  route();
}

start();
