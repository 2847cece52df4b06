"""The geoguessr.com hooks on their fixtures in real Chromium (the node tests use a mini DOM;
this checks that a real browser counts the same matches, fixtures/geoguessr/hook_counts.json),
and the manifest's shape (the main-world script included)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXT = REPO / "extension"
FIXTURES = EXT / "tests" / "fixtures" / "geoguessr"


def test_manifest_is_mv3_without_build_step():
    m = json.loads((EXT / "manifest.json").read_text())
    assert m["manifest_version"] == 3
    assert m["background"] == {"service_worker": "background/service_worker.js", "type": "module"}
    for cs in m["content_scripts"]:
        for js in cs["js"]:
            assert (EXT / js).is_file(), js
    assert (EXT / m["action"]["default_popup"]).is_file()
    # the page-world hooks run before any page script, on geoguessr.com only
    main = [cs for cs in m["content_scripts"] if cs.get("world") == "MAIN"]
    assert len(main) == 1 and main[0]["run_at"] == "document_start"
    assert main[0]["matches"] == ["https://www.geoguessr.com/*"]
    assert main[0]["js"] == ["page/main_hooks.js", "page/main_actions.js"]
    # every module the extension imports exists (plain ES modules, relative paths)
    import re
    for js in EXT.rglob("*.js"):
        for rel in re.findall(r"from '(\.[^']+)'", js.read_text()):
            assert (js.parent / rel).resolve().is_file(), f"{js}: {rel}"


def test_geoguessr_selectors_live_in_one_file():
    """No other extension file names a data-qa hook or a CSS-module prefix."""
    for js in (EXT / "sites").rglob("*.js"):
        if js.name == "selectors.js" or "arena" in js.parts:
            continue
        assert "data-qa" not in js.read_text(), f"{js} has its own selector"


@pytest.mark.browser
def test_selector_counts_match_in_chromium(chromium_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (needed to read selectors.js)")
    out = subprocess.run(
        [node, "--input-type=module", "-e",
         ("import('./extension/sites/geoguessr/selectors.js').then(m => "
          "console.log(JSON.stringify(m.SELECTORS)))")],
        cwd=REPO, capture_output=True, text=True, timeout=30, check=True)
    selectors = json.loads(out.stdout)
    expected = json.loads((FIXTURES / "hook_counts.json").read_text())["counts"]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, headless=True,
                                     args=["--disable-gpu"])
        page = browser.new_page()
        for name, counts in expected.items():
            page.set_content((FIXTURES / name).read_text())
            got = page.evaluate("(sels) => Object.fromEntries(Object.entries(sels).map("
                                "([k, s]) => [k, document.querySelectorAll(s).length]))",
                                selectors)
            assert got == counts, name
        browser.close()
