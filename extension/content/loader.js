// Content scripts cannot be ES modules; this classic script loads the module entry point.
// On geoguessr.com it first takes the per-page nonce of the bridge to the main-world script
// (extension/page/main_hooks.js): both run at document_start, before any page script; the
// second of the two takes the nonce from an attribute of <html> and removes it at once.
(() => {
  if (location.hostname === 'www.geoguessr.com') {
    const ATTR = 'data-pigeon-bot-nonce';
    const root = document.documentElement;
    let nonce = root ? root.getAttribute(ATTR) : null;
    if (nonce) root.removeAttribute(ATTR);
    else {
      const a = crypto.getRandomValues(new Uint8Array(16));
      nonce = Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
      if (root) root.setAttribute(ATTR, nonce);
    }
    globalThis.__pigeonBotNonce = nonce;   // the isolated world's own global: the page cannot see it
  }
})();
(async () => {
  try {
    const src = chrome.runtime.getURL('content/main.js');
    await import(src);
  } catch (err) {
    console.warn('[pigeon-bot] content script failed to load:', err);
  }
})();
