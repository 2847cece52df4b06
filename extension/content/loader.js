// Content scripts cannot be ES modules; this classic script loads the module entry point.
(async () => {
  try {
    const src = chrome.runtime.getURL('content/main.js');
    await import(src);
  } catch (err) {
    console.warn('[pigeon-bot] content script failed to load:', err);
  }
})();
