// dom.js -- a tiny element builder (text is always set as text, never as
// HTML, so patient data cannot inject markup).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function mount(node, title) {
  const main = document.getElementById('main');
  main.replaceChildren(node);
  if (title) document.title = `${title} · pms console`;
}

export function focusMain() {
  const heading = document.querySelector('#main h1');
  (heading || document.getElementById('main')).focus({ preventScroll: false });
}
