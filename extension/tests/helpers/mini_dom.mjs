// A tiny HTML parser and CSS selector matcher for node --test (no browser, no dependency).
// It supports what selectors.js uses: tag, #id, .class, [attr], [attr="v"], [attr*="v"],
// [attr^="v"], [attr$="v"], descendant and child combinators, and comma lists. The same
// fixtures are also checked in real Chromium (tests/test_extension_selectors.py).

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

export function parseHTML(html) {
  const root = { tag: '#root', attrs: {}, children: [], parent: null };
  let cur = root;
  const re = /<!--[\s\S]*?-->|<!doctype[^>]*>|<\/\s*([a-zA-Z0-9-]+)\s*>|<([a-zA-Z0-9-]+)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*(\/?)>|([^<]+)/gi;
  let m;
  while ((m = re.exec(html))) {
    if (m[1]) {
      const tag = m[1].toLowerCase();
      let n = cur;
      while (n && n.tag !== tag) n = n.parent;
      if (n && n.parent) cur = n.parent;
    } else if (m[2]) {
      const el = { tag: m[2].toLowerCase(), attrs: parseAttrs(m[3] || ''), children: [], parent: cur, text: '' };
      cur.children.push(el);
      if (!m[4] && !VOID.has(el.tag)) cur = el;
    } else if (m[5] && cur !== root) {
      cur.text = (cur.text || '') + m[5];
    }
  }
  return root;
}

function parseAttrs(text) {
  const attrs = {};
  const re = /([^\s=>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  let m;
  while ((m = re.exec(text))) attrs[m[1].toLowerCase()] = m[2] ?? m[3] ?? m[4] ?? '';
  return attrs;
}

function parseCompound(text) {
  const parts = { tag: null, checks: [] };
  const re = /^([a-zA-Z][a-zA-Z0-9-]*|\*)|#([\w-]+)|\.([\w-]+)|\[\s*([\w-]+)\s*(?:([*^$]?=)\s*(?:"([^"]*)"|'([^']*)'|([^\]\s]+)))?\s*\]/g;
  let m;
  let consumed = 0;
  while ((m = re.exec(text)) && m[0]) {
    consumed += m[0].length;
    if (m[1] && m[1] !== '*') parts.tag = m[1].toLowerCase();
    else if (m[2]) { const id = m[2]; parts.checks.push((el) => el.attrs.id === id); }
    else if (m[3]) { const cls = m[3]; parts.checks.push((el) => (el.attrs.class || '').split(/\s+/).includes(cls)); }
    else if (m[4]) {
      const name = m[4].toLowerCase();
      const op = m[5];
      const v = m[6] ?? m[7] ?? m[8];
      parts.checks.push((el) => {
        const a = el.attrs[name];
        if (a === undefined) return false;
        if (!op) return true;
        if (op === '=') return a === v;
        if (op === '*=') return a.includes(v);
        if (op === '^=') return a.startsWith(v);
        return a.endsWith(v);
      });
    }
  }
  if (consumed !== text.length) throw new Error(`mini_dom cannot parse selector part ${JSON.stringify(text)}`);
  return parts;
}

const matchesCompound = (el, c) => (!c.tag || el.tag === c.tag) && c.checks.every((f) => f(el));

function parseComplex(sel) {
  const tokens = sel.trim().replace(/\s*>\s*/g, ' > ').split(/\s+/);
  const steps = [];
  let comb = ' ';
  for (const t of tokens) {
    if (t === '>') { comb = '>'; continue; }
    steps.push({ comb, c: parseCompound(t) });
    comb = ' ';
  }
  return steps;
}

function matchesComplex(el, steps, i = steps.length - 1) {
  if (!matchesCompound(el, steps[i].c)) return false;
  if (i === 0) return true;
  if (steps[i].comb === '>') return el.parent && el.parent.tag !== '#root' && matchesComplex(el.parent, steps, i - 1);
  for (let p = el.parent; p && p.tag !== '#root'; p = p.parent) if (matchesComplex(p, steps, i - 1)) return true;
  return false;
}

function splitList(selector) {
  const out = [];
  let depth = 0; let quote = null; let start = 0;
  for (let i = 0; i < selector.length; i += 1) {
    const ch = selector[i];
    if (quote) { if (ch === quote) quote = null; continue; }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[') depth += 1;
    else if (ch === ']') depth -= 1;
    else if (ch === ',' && depth === 0) { out.push(selector.slice(start, i)); start = i + 1; }
  }
  out.push(selector.slice(start));
  return out.map((s) => s.trim()).filter(Boolean);
}

export function querySelectorAll(root, selector) {
  const lists = splitList(selector).map(parseComplex);
  const found = [];
  const walk = (el) => {
    for (const ch of el.children) {
      if (lists.some((steps) => matchesComplex(ch, steps))) found.push(ch);
      walk(ch);
    }
  };
  walk(root);
  return found;
}

export const textOf = (el) => (el.text || '') + el.children.map(textOf).join('');
