"""``pigeon doctor``: what is installed, what is missing, and what to do about it.

Checks Python packages, CUDA, Debian's Chromium (browser tests and the demo), Node.js (the
extension's unit tests), the offline data assets and the model bundles it can find. Each
line is ``ok``, ``warn`` or ``MISSING`` with the fix. Exit status 1 when something that
``make demo`` needs is missing.

Usage::

    pigeon doctor
    pigeon doctor --json
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from backend.cliutil import add_command

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("torch", "torchvision", "open_clip_torch", "numpy", "scikit-learn", "shapely",
            "websockets", "aiohttp", "mss", "pillow", "playwright")


@dataclass
class Check:
    name: str
    status: str  # "ok" | "warn" | "missing"
    detail: str
    required: bool = True


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_packages() -> list[Check]:
    out = [Check("python", "ok" if sys.version_info >= (3, 11) else "missing",
                 sys.version.split()[0] + ("" if sys.version_info >= (3, 11)
                                           else " (pigeon-bot needs Python >= 3.11)"))]
    for dist in PACKAGES:
        v = _version(dist)
        out.append(Check(dist, "ok" if v else "missing",
                         v or "not installed: run `make setup` (or pip install -e '.[dev]')",
                         required=dist != "playwright"))
    return out


def check_cuda() -> Check:
    try:
        import torch
    except ImportError:
        return Check("cuda", "missing", "torch is not installed: run `make setup`")
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return Check("cuda", "ok", f"CUDA {torch.version.cuda}: {names}", required=False)
    return Check("cuda", "warn", "no CUDA device: the backend runs on the CPU (slower, works)",
                 required=False)


def check_chromium() -> Check:
    for path in ("/usr/lib/chromium/chromium", "/usr/bin/chromium", shutil.which("chromium")):
        if path and os.path.exists(path):
            try:
                ver = subprocess.run([path, "--version"], check=False, capture_output=True,
                                     text=True, timeout=20).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                ver = "version unknown"
            return Check("chromium", "ok", f"{path} ({ver})")
    return Check("chromium", "missing",
                 "Debian's chromium is needed for the demo and browser tests: "
                 "`sudo apt-get install chromium` (make test/demo install it when run as root)")


SCREEN_TOOLS = (("xvfb", "Xvfb", "xvfb"), ("xdotool", "xdotool", "xdotool"))
"""(check name, program, Debian package): what ``pigeon play --screen`` and its tests need."""


def check_screen_tools() -> list[Check]:
    """Xvfb (a virtual display) and xdotool (keys for turning): the screen bot and its tests."""
    out = []
    for name, program, package in SCREEN_TOOLS:
        path = shutil.which(program)
        out.append(Check(name, "ok", path, required=False) if path else Check(
            name, "warn", f"{program} not found: the screen bot (`pigeon play --screen`) and "
            f"its tests need it (`sudo apt-get install {package}`; make test installs it "
            "when run as root)", required=False))
    return out


def check_node() -> Check:
    node = shutil.which("node")
    if not node:
        return Check("node", "warn", "node not found: the extension's JS unit tests need "
                     "Node.js >= 18 (`sudo apt-get install nodejs`)", required=False)
    ver = subprocess.run([node, "--version"], check=False, capture_output=True,
                         text=True).stdout.strip()
    return Check("node", "ok", f"{node} {ver}", required=False)


def check_assets() -> list[Check]:
    try:
        assets = importlib.import_module("backend.geo.assets")
    except ImportError as exc:
        return [Check("geo data", "missing", f"geo layer not importable ({exc})")]
    return [Check(f"data: {name}", "ok" if ok else "missing", detail)
            for name, ok, detail in assets.status()]


def find_bundles() -> list[Path]:
    roots = [REPO / "bundles"]
    if os.environ.get("PIGEON_BUNDLE"):
        roots.insert(0, Path(os.environ["PIGEON_BUNDLE"]))
    found: list[Path] = []
    for root in roots:
        if (root / "bundle.json").exists():
            found.append(root)
        elif root.is_dir():
            found.extend(p.parent for p in sorted(root.glob("*/bundle.json")))
    return found


def check_bundles() -> Check:
    bundles = find_bundles()
    if bundles:
        return Check("model bundles", "ok", ", ".join(str(b) for b in bundles))
    return Check("model bundles", "warn",
                 "no bundle found under bundles/ or $PIGEON_BUNDLE: `make demo` uses "
                 "bundles/demo; train one with `pigeon synthworld train-demo`", required=False)


def run_checks() -> list[Check]:
    return [*check_packages(), check_cuda(), check_chromium(), *check_screen_tools(),
            check_node(), *check_assets(), check_bundles()]


def _cmd_doctor(args) -> int:
    checks = run_checks()
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            mark = {"ok": "ok     ", "warn": "warn   ", "missing": "MISSING"}[c.status]
            print(f"{mark} {c.name:<{width}}  {c.detail}")
    return 1 if any(c.status == "missing" and c.required for c in checks) else 0


def register(sub) -> None:
    p = add_command(sub, "doctor", help="report versions, CUDA, Chromium, Xvfb and xdotool, "
                    "data assets and bundles",
                    example="pigeon doctor --json")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_doctor)
