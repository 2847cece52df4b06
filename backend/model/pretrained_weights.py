"""Where an open_clip pretrained tag's weights are, and a fast, one-line failure when they are
not on this machine and cannot be downloaded.

open_clip fetches a tag's weights (``ViT-L-14`` / ``openai``, ...) from the Hugging Face hub.
Without internet its download retries for about a minute and prints dozens of warning lines,
and even with the file cached the hub client asks the network first. So before open_clip is
called:

1. look in the Hugging Face cache (``HF_HUB_CACHE``, or ``cache_dir``) for the tag's file —
   the safetensors file open_clip prefers, then the ``.bin`` — and, for a tag without a hub
   entry, in open_clip's URL cache (``~/.cache/clip``); if it is there, open_clip loads that
   file directly (no network at all);
2. otherwise decide quickly whether a download can work: ``HF_HUB_OFFLINE`` set means no; else
   one HEAD request to the hub (``HF_ENDPOINT``, default https://huggingface.co) with a 3 s
   timeout — any HTTP answer means online, a refused or timed-out connection means offline;
3. offline: raise a :class:`~backend.cliutil.UserError` of one line that says what to run on a
   machine with internet and which folder to copy here.

Usage::

    from backend.model.pretrained_weights import local_pretrained_file
    path = local_pretrained_file("ViT-L-14", "openai")   # a cached file, None (will download),
                                                           # or UserError (offline, not cached)
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from backend.cliutil import UserError

PROBE_TIMEOUT_S = 3.0
DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "true", "yes", "on"}


def hub_endpoint() -> str:
    """The hub the downloads would go to (``HF_ENDPOINT``, else huggingface.co)."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder (``HF_HUB_CACHE``, ``HF_HOME``/hub, ~/.cache/...)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return Path(home) / "hub"


def offline_reason(url: str | None = None, *, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Why a download from ``url`` (default: the hub) cannot work now, or None when it can.

    One HEAD request with a short timeout; any HTTP status (even 404) means the host answers.
    """
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in _TRUE:
            return f"{var} is set"
    target = url or hub_endpoint()
    try:
        req = urllib.request.Request(target, method="HEAD",
                                     headers={"User-Agent": "pigeon-bot probe"})
        with urllib.request.urlopen(req, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # the server answered: we are online
    except (urllib.error.URLError, OSError, ValueError) as exc:
        why = getattr(exc, "reason", exc)
        host = urllib.request.urlparse(target).netloc or target
        return f"{host} cannot be reached ({str(why)[:80]})"


def _hf_file(hf_hub: str) -> tuple[str, list[str]]:
    """open_clip's ``hf_hub`` entry (``org/repo/`` or ``org/repo/file``) → the repo id and the
    file names open_clip tries there, in its order (a safetensors twin first)."""
    repo, filename = os.path.split(hf_hub)
    filename = filename or "open_clip_pytorch_model.bin"
    names = [filename]
    if filename == "open_clip_pytorch_model.bin":
        names.insert(0, "open_clip_model.safetensors")
    elif filename.endswith((".bin", ".pth")):
        names.insert(0, filename[:-4] + ".safetensors")
    return repo, names


def cached_file(tag_cfg: dict[str, Any], cache_dir: str | None = None) -> str | None:
    """The tag's weights file if it is already on this machine, else None."""
    hf_hub = tag_cfg.get("hf_hub")
    if hf_hub:
        repo, names = _hf_file(str(hf_hub))
        root = Path(cache_dir) if cache_dir else hub_cache_dir()
        snaps = root / ("models--" + repo.replace("/", "--")) / "snapshots"
        if snaps.is_dir():
            for name in names:
                for snap in sorted(snaps.iterdir()):
                    if (snap / name).is_file():
                        return str(snap / name)
        return None
    url = tag_cfg.get("url")
    if url:
        root = Path(cache_dir) if cache_dir else Path(os.path.expanduser("~/.cache/clip"))
        path = root / os.path.basename(url)
        return str(path) if path.is_file() else None
    return None


def where_to_put(tag_cfg: dict[str, Any], cache_dir: str | None = None) -> str:
    """The folder a copied download must land in for :func:`cached_file` to find it."""
    if tag_cfg.get("hf_hub"):
        repo, _ = _hf_file(str(tag_cfg["hf_hub"]))
        root = Path(cache_dir) if cache_dir else hub_cache_dir()
        return str(root / ("models--" + repo.replace("/", "--")))
    root = Path(cache_dir) if cache_dir else Path(os.path.expanduser("~/.cache/clip"))
    return str(root)


def local_pretrained_file(name: str, tag: str, *, cache_dir: str | None = None,
                          tag_cfg: dict[str, Any] | None = None) -> str | None:
    """The cached weights file of open_clip's ``name``/``tag``, or None when it must (and can)
    be downloaded.

    Raises:
        UserError: not cached and no download possible (one line: what to run where, and
            which folder to copy to this machine).
    """
    if tag_cfg is None:
        import open_clip

        tag_cfg = open_clip.get_pretrained_cfg(name, tag) or {}
    found = cached_file(tag_cfg, cache_dir)
    if found:
        return found
    url = None if tag_cfg.get("hf_hub") else tag_cfg.get("url")
    reason = offline_reason(url)
    if reason is None:
        return None
    raise UserError(
        f"the open_clip weights {name}/{tag} are not on this machine and cannot be downloaded "
        f"({reason}): on a machine with internet run `python -c \"import open_clip; "
        f"open_clip.create_model('{name}', pretrained='{tag}')\"`, then copy "
        f"{where_to_put(tag_cfg, cache_dir)} to the same path here "
        "(or pass a local checkpoint file as the weights)")
