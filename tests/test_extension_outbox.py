"""The extension keeps a result the backend could not store (issue 18, item 1), in real
Chromium with the real extension and a real backend: the score log is locked, the result
waits in chrome.storage.local, survives the service worker being stopped by force, and is
stored once the log is free again. The popup says how many results wait meanwhile."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import time

import pytest

from bot.browser import extension_browser
from tests.predict_fixtures import box_geocells
from tests.reliability_harness import view_jpeg

pytestmark = pytest.mark.browser


def test_a_result_waits_in_the_outbox_until_it_is_stored(chromium_path, tmp_path):
    from backend.model.bundle import load_bundle, make_tiny_bundle
    from backend.predict.predictor import Predictor
    from backend.server import run_server_in_thread

    bundle = make_tiny_bundle(tmp_path / "bundle", box_geocells(), seed=0)
    predictor = Predictor(load_bundle(bundle), geo=None)
    db = tmp_path / "s.sqlite"
    jpeg = base64.b64encode(view_jpeg(3)).decode()
    round_ = {"roundId": "ob:1", "source": "arena", "mode": "arena",
              "views": [{"jpeg": jpeg, "heading": 0}]}
    result = {"roundId": "ob:1", "truth": {"lat": 10, "lng": 20}, "score": 321}

    with run_server_in_thread(predictor, port=0, db_path=db) as srv:
        async def main():
            async with extension_browser() as s:
                await s.pair(srv.url, srv.token, mode="suggest")
                await s.wait_connected()
                guess = await s.evaluate("(r) => pigeon.handlers.predict({round: r})", round_)
                assert guess["logged"] is True
                lock = sqlite3.connect(db, timeout=0, isolation_level=None)
                lock.execute("BEGIN EXCLUSIVE")        # the score log cannot store now
                answer = await s.evaluate("(r) => pigeon.handlers.result({result: r})", result,
                                          timeout_s=30)
                assert answer["queued"] is True
                kept = await s.evaluate("() => chrome.storage.local.get('resultOutbox')")
                assert [it["msg"]["round_id"] for it in kept["resultOutbox"]] == ["ob:1"]
                assert "storage_failed" in kept["resultOutbox"][0]["lastError"]
                popup = await s.context.new_page()     # the popup says a result waits
                await popup.goto(f"chrome-extension://{s.extension_id}/popup/popup.html")
                await popup.wait_for_selector("#outbox:text('1 result waiting to be stored')")
                await popup.close()
                before = (await s.status())["workerStartedAt"]
                await s.stop_workers()                 # the worker dies with the result unsent
                lock.close()
                page = await s.context.new_page()      # the popup's messages wake a new worker
                await page.goto(f"chrome-extension://{s.extension_id}/popup/popup.html")
                after = await s.wait_connected(60)     # it reconnects, then flushes
                assert after["workerStartedAt"] != before
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if (await s.status())["resultsWaiting"] == 0:
                        break
                    await asyncio.sleep(0.3)
                await page.wait_for_selector("#status:text('connected')")   # (the page's CSP: no eval)
                await page.wait_for_selector("#outbox:empty", state="attached")
                return await s.status()

        status = asyncio.run(asyncio.wait_for(main(), 180))
    assert status["resultsWaiting"] == 0
    con = sqlite3.connect(db)
    assert con.execute("SELECT round_id, score FROM rounds").fetchall() == [("ob:1", 321.0)]
    con.close()
