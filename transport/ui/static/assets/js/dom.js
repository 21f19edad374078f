// Small DOM helpers. Everything the dashboard shows is built with h(), which
// sets text as text: data from the API never becomes markup.

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'open', 'indeterminate']);

// h creates an element: h('a', {href: '#/x', class: 'btn'}, 'text', child).
// Attributes with null, undefined or false values are left out; on* keys
// with a function value add event listeners; children may be strings,
// nodes, arrays or nothing.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (PROPS.has(key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === '') continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// replace swaps el's children for children.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

export function $$(sel, root = document) {
  return [...root.querySelectorAll(sel)];
}

// debounce delays fn until ms passed without another call.
export function debounce(fn, ms) {
  let timer = 0;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

let idSeq = 0;

// uid returns a document-unique id for label/for and aria links.
export function uid(prefix = 'id') {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

// keepFocus re-renders tbody with build() and puts the keyboard focus back
// on the same control of the same row, so that auto-refresh does not throw
// a keyboard user out of the table.
export function keepFocus(tbody, build) {
  const active = document.activeElement;
  const tr = active && tbody.contains(active) ? active.closest('tr') : null;
  const key = tr ? tr.dataset.key : '';
  const index = tr ? [...tr.querySelectorAll('a, button')].indexOf(active) : -1;
  build();
  if (!key) return;
  const again = [...tbody.querySelectorAll('tr')].find((r) => r.dataset.key === key);
  const target = again ? again.querySelectorAll('a, button')[index] : null;
  if (target) target.focus();
}
