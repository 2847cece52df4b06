// Requests from the content script to the service worker, surviving a worker restart:
// a request whose worker died on the way is sent again (the new worker wakes up for it).

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function once(msg, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the extension's worker did not answer ${msg.type} in ${timeoutMs} ms`)), timeoutMs);
    try {
      chrome.runtime.sendMessage(msg, (answer) => {
        clearTimeout(timer);
        const err = chrome.runtime.lastError;
        if (err) { reject(Object.assign(new Error(err.message), { transient: true })); return; }
        if (!answer) { reject(Object.assign(new Error('no answer from the worker'), { transient: true })); return; }
        if (!answer.ok) { reject(new Error(answer.error)); return; }
        resolve(answer.value);
      });
    } catch (err) {
      clearTimeout(timer);
      reject(Object.assign(err, { transient: !/context invalidated/i.test(err.message) }));
    }
  });
}

/** Send {type, ...payload} to the worker; retried on transient failures (worker restarting). */
export async function send(type, payload = {}, { timeoutMs = 35000, retries = 5 } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await once({ type, ...payload }, timeoutMs);
    } catch (err) {
      if (!err.transient || attempt >= retries) throw err;
      await sleep(200 * (attempt + 1));
    }
  }
}
