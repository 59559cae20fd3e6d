// patients.js -- list with search as you type, patient page, create/edit
// forms with the API's field errors, delete, and the 412 conflict flow.
import { h, mount, focusMain } from './dom.js';
import { api, ApiError, parseLinks, problemMessage } from './api.js';
import { user } from './auth.js';

const PAGE = 20;
const FIELDS = [
  { name: 'name', label: 'Name', required: true, autocomplete: 'name' },
  { name: 'email', label: 'Email', required: true, type: 'email', autocomplete: 'email' },
  { name: 'address', label: 'Address', required: true, autocomplete: 'street-address' },
  { name: 'dateOfBirth', label: 'Date of birth (YYYY-MM-DD)', required: true, placeholder: 'YYYY-MM-DD' },
  { name: 'registeredDate', label: 'Registered on (YYYY-MM-DD, optional)', placeholder: 'YYYY-MM-DD' },
];

function errorBox(message) {
  return h('div', { class: 'error', role: 'alert' }, message);
}
function stateLine(text) {
  return h('p', { class: 'state', role: 'status' }, text);
}
export function refusal() {
  mount(h('section', {},
    h('h1', { tabindex: '-1' }, 'Not allowed'),
    errorBox('Your account can read patients but not create, change or delete them (it lacks the patient-writer role).'),
    h('p', {}, h('a', { href: '#/patients' }, 'Back to the patient list'))), 'Not allowed');
  focusMain();
}

// ---- list -------------------------------------------------------------
let listAbort = null;
let debounce = null;

export function listView(params) {
  const q = params.get('q') || '';
  const search = h('input', { id: 'search', type: 'search', value: q, autocomplete: 'off', 'aria-controls': 'results' });
  const results = h('div', { id: 'results', 'aria-live': 'polite' });
  const total = h('p', { id: 'total', class: 'total' });
  const view = h('section', {},
    h('div', { class: 'titlebar' },
      h('h1', { tabindex: '-1' }, 'Patients'),
      user().canWrite ? h('a', { class: 'button', href: '#/patients/new', id: 'new-patient' }, 'New patient') : null),
    h('form', { role: 'search', class: 'search', onsubmit: (e) => { e.preventDefault(); run(0); } },
      h('label', { for: 'search' }, 'Search by name or email'),
      search),
    total, results);
  mount(view, 'Patients');

  const failed = (message) => {
    results.replaceChildren(errorBox(message),
      h('button', { type: 'button', id: 'retry', onclick: () => run() }, 'Try again'));
    total.textContent = '';
  };
  const load = async (url) => {
    listAbort?.abort();
    const ctl = new AbortController();
    listAbort = ctl;
    results.setAttribute('aria-busy', 'true');
    results.replaceChildren(stateLine('Loading patients…'));
    try {
      const res = await api(url, { signal: ctl.signal });
      if (ctl.signal.aborted) return;
      if (!res.ok) {
        failed(problemMessage(res));
        return;
      }
      renderList(res, results, total, load);
    } catch (e) {
      if (e.name === 'AbortError') return;
      failed(e instanceof ApiError ? e.message : String(e));
    } finally {
      if (listAbort === ctl) results.removeAttribute('aria-busy');
    }
  };
  const run = () => {
    const value = search.value.trim();
    history.replaceState(null, '', value ? `#/patients?q=${encodeURIComponent(value)}` : '#/patients');
    load(`/api/patients?size=${PAGE}${value ? `&q=${encodeURIComponent(value)}` : ''}`);
  };
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(run, 300);
  });
  run();
  focusMain();
}

function renderList(res, results, total, load) {
  const rows = Array.isArray(res.body) ? res.body : [];
  const count = res.headers.get('X-Total-Count');
  const accuracy = res.headers.get('X-Total-Accuracy');
  total.textContent = count !== null
    ? `${accuracy === 'estimate' ? 'About ' : ''}${Number(count).toLocaleString('en')} patient${count === '1' ? '' : 's'}`
    : '';
  if (rows.length === 0) {
    results.replaceChildren(h('p', { class: 'state empty', role: 'status' }, 'No patients match this search.'));
    return;
  }
  const links = parseLinks(res.headers.get('Link'));
  const table = h('table', { class: 'list' },
    h('caption', { class: 'sr-only' }, 'Patients'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Email'), h('th', { scope: 'col' }, 'Born'))),
    h('tbody', {}, rows.map((p) => h('tr', {},
      h('td', { 'data-label': 'Name' }, h('a', { href: `#/patients/${p.id}` }, p.name)),
      h('td', { 'data-label': 'Email' }, p.email),
      h('td', { 'data-label': 'Born' }, p.dateOfBirth)))));
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('button', { type: 'button', id: 'prev-page', disabled: !links.prev, onclick: () => load(links.prev) }, '← Previous'),
    h('button', { type: 'button', id: 'next-page', disabled: !links.next, onclick: () => load(links.next) }, 'Next →'));
  results.replaceChildren(h('div', { class: 'scroll' }, table), pager);
}

// ---- one patient --------------------------------------------------------
function fetchPatient(id) {
  return api(`/api/patients/${encodeURIComponent(id)}`);
}

// The patient for a screen titled `title`, or null with the screen showing
// why not (loading first, then the API's refusal or the network error).
async function loadPatient(id, title) {
  mount(stateLine('Loading patient…'), title);
  let res;
  try {
    res = await fetchPatient(id);
  } catch (e) {
    res = { ok: false, error: e.message };
  }
  if (res.ok) return res;
  const why = res.error || (res.status === 404 ? 'No such patient (it may have been deleted).' : problemMessage(res));
  mount(h('section', {}, h('h1', { tabindex: '-1' }, title), errorBox(why),
    h('p', {}, h('a', { href: '#/patients' }, 'Back to the patient list'))), title);
  focusMain();
  return null;
}

export async function detailView(id) {
  const res = await loadPatient(id, 'Patient');
  if (!res) return;
  const p = res.body;
  const canWrite = user().canWrite;
  const dialog = h('dialog', { id: 'confirm-delete', 'aria-labelledby': 'confirm-title' },
    h('h2', { id: 'confirm-title' }, `Delete ${p.name}?`),
    h('p', {}, 'The patient is removed for good.'),
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'confirm-yes', class: 'danger', onclick: () => doDelete() }, 'Delete'),
      h('button', { type: 'button', id: 'confirm-no', onclick: () => dialog.close() }, 'Cancel')));
  const msg = h('div', { id: 'detail-msg' });
  const doDelete = async () => {
    try {
      const d = await api(`/api/patients/${p.id}`, { method: 'DELETE' });
      dialog.close();
      if (d.status === 204 || d.status === 404) {
        sessionStorage.setItem('pms-console.notice', `${p.name} was deleted.`);
        location.hash = '#/patients';
      } else {
        msg.replaceChildren(errorBox(problemMessage(d)));
      }
    } catch (e) {
      dialog.close();
      msg.replaceChildren(errorBox(e.message));
    }
  };
  const rowOf = (label, value) => [h('dt', {}, label), h('dd', {}, value ?? '—')];
  mount(h('section', {},
    h('h1', { tabindex: '-1' }, p.name),
    msg,
    h('dl', { class: 'fields' },
      rowOf('Email', p.email), rowOf('Address', p.address), rowOf('Date of birth', p.dateOfBirth),
      rowOf('Registered on', p.registeredDate), rowOf('Billing account', p.billingAccountId),
      rowOf('Version', (res.headers.get('ETag') || '').replace(/"/g, '')),
      rowOf('Updated', `${p.updatedAt}${p.updatedBy ? ` by ${p.updatedBy}` : ''}`)),
    h('div', { class: 'actions' },
      canWrite ? h('a', { class: 'button', id: 'edit', href: `#/patients/${p.id}/edit` }, 'Edit') : null,
      canWrite ? h('button', { type: 'button', id: 'delete', class: 'danger', onclick: () => dialog.showModal() }, 'Delete') : null,
      h('a', { href: '#/patients' }, 'Back to the list')),
    dialog), p.name);
  focusMain();
}

// ---- create / edit --------------------------------------------------------
export async function formView(id) {
  if (!user().canWrite) {
    refusal();
    return;
  }
  let current = null;
  let etag = null;
  if (id) {
    const res = await loadPatient(id, 'Edit patient');
    if (!res) return;
    current = res.body;
    etag = res.headers.get('ETag');
  }
  const inputs = {};
  const errs = {};
  const general = h('div', { id: 'form-msg' });
  const conflict = h('div', { id: 'conflict' });
  const form = h('form', { id: 'patient-form', novalidate: true, onsubmit: (e) => { e.preventDefault(); save(); } },
    FIELDS.map((f) => {
      inputs[f.name] = h('input', {
        id: `f-${f.name}`, name: f.name, type: f.type || 'text', required: f.required,
        autocomplete: f.autocomplete || 'off', placeholder: f.placeholder,
        'aria-describedby': `err-${f.name}`, value: current?.[f.name] ?? '',
      });
      errs[f.name] = h('p', { id: `err-${f.name}`, class: 'field-error' });
      return h('div', { class: 'field' }, h('label', { for: `f-${f.name}` }, f.label), inputs[f.name], errs[f.name]);
    }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', id: 'save' }, id ? 'Save changes' : 'Create patient'),
      h('a', { href: id ? `#/patients/${id}` : '#/patients' }, 'Cancel')));
  const title = id ? `Edit ${current.name}` : 'New patient';
  mount(h('section', {}, h('h1', { tabindex: '-1' }, title), general, conflict, form), title);
  focusMain();

  const values = () => {
    const v = {};
    for (const f of FIELDS) {
      const s = inputs[f.name].value.trim();
      if (s !== '' || f.required) v[f.name] = s;
    }
    return v;
  };
  const clearErrors = () => {
    general.replaceChildren();
    for (const f of FIELDS) {
      errs[f.name].textContent = '';
      inputs[f.name].removeAttribute('aria-invalid');
    }
  };
  const save = async () => {
    clearErrors();
    const btn = document.getElementById('save');
    btn.disabled = true;
    try {
      const res = id
        ? await api(`/api/patients/${id}`, { method: 'PUT', body: values(), headers: { 'If-Match': etag } })
        : await api('/api/patients', { method: 'POST', body: values() });
      if (res.ok) {
        const saved = res.body;
        sessionStorage.setItem('pms-console.notice', id ? 'Changes saved.' : `${saved.name} was created.`);
        location.hash = `#/patients/${saved.id}`;
        return;
      }
      if (res.status === 412) {
        await showConflict();
        return;
      }
      const list = res.body?.errors || [];
      if (res.status === 409 && list.length === 0) list.push({ field: 'email', message: res.body?.detail || 'is already used by another patient' });
      let first = null;
      for (const e of list) {
        if (errs[e.field]) {
          errs[e.field].textContent = `${FIELDS.find((f) => f.name === e.field).label.replace(/ \(.*/, '')} ${e.message}`;
          inputs[e.field].setAttribute('aria-invalid', 'true');
          first = first || inputs[e.field];
        }
      }
      const unknown = list.filter((e) => !errs[e.field]);
      if (!first || unknown.length) {
        general.replaceChildren(errorBox(unknown.length ? unknown.map((e) => `${e.field}: ${e.message}`).join('; ') : problemMessage(res)));
      }
      (first || general).focus?.();
    } catch (e) {
      general.replaceChildren(errorBox(e.message));
    } finally {
      btn.disabled = false;
    }
  };
  // 412: someone saved a newer version.  Show it; the user may reapply
  // their own values on top of it (with the new ETag) or take it.
  const showConflict = async () => {
    const res = await fetchPatient(id);
    if (!res.ok) {
      general.replaceChildren(errorBox(res.status === 404 ? 'This patient was deleted meanwhile.' : problemMessage(res)));
      return;
    }
    const theirs = res.body;
    const newTag = res.headers.get('ETag');
    const mine = values();
    conflict.replaceChildren(h('div', { class: 'conflict', role: 'alert' },
      h('h2', {}, `Someone else saved this patient meanwhile (now version ${newTag.replace(/"/g, '')})`),
      h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Current version'), h('th', { scope: 'col' }, 'Your change'))),
        h('tbody', {}, FIELDS.map((f) => h('tr', { class: (theirs[f.name] ?? '') !== (mine[f.name] ?? theirs[f.name] ?? '') ? 'differs' : '' },
          h('th', { scope: 'row' }, f.label.replace(/ \(.*/, '')), h('td', {}, theirs[f.name] ?? ''), h('td', {}, mine[f.name] ?? '')))))),
      h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'reapply', onclick: () => { etag = newTag; conflict.replaceChildren(); save(); } }, 'Reapply my changes'),
        h('button', { type: 'button', id: 'take-theirs', onclick: () => {
          etag = newTag;
          for (const f of FIELDS) inputs[f.name].value = theirs[f.name] ?? '';
          conflict.replaceChildren();
          inputs.name.focus();
        } }, 'Use the current version'))));
    document.getElementById('reapply').focus();
  };
}
