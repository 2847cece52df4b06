"""Files of the OSV-5M dataset repository on the Hugging Face hub: what they are, and a
download that resumes after a kill.

The repository ``osv5m/osv5m`` (a *dataset* repo; layout read from its loading script
``osv5m.py`` and the authors' download scripts) holds ``train.csv`` and ``test.csv`` (one row
per image: ``id, latitude, longitude, thumb_original_url, country, sequence, captured_at, ...,
region, sub-region, city, ..., unique_region, unique_sub-region, unique_city, unique_country,
...``) and the images as zip shards ``images/train/00.zip .. 97.zip`` (about 50,000 images,
2.5 GB each) and ``images/test/00.zip .. 04.zip``. A zip member's file name is ``<id>.jpg``;
which shard holds which id is not in the CSV, so a shard has to be opened to know.

Downloads go through ``huggingface_hub``'s own HTTP functions (``hf_hub_url``,
``get_hf_file_metadata``: the HEAD of ``/resolve/<revision>/<path>`` with its
``X-Repo-Commit``/``X-Linked-Etag``/``X-Linked-Size`` headers and CDN redirect; ``http_get``:
the ranged GET), the code path ``hf_hub_download`` runs. It is not called itself because it
throws a partial file away when the process dies; here the partial file is kept next to the
target (``.part``, with the ETag it belongs to) and the next run asks for the remaining bytes
with an HTTP ``Range``. A finished file is checked against its size and, when the hub's ETag
is a sha256 (LFS files), its sha256.

Usage::

    hub = OSV5MHub(endpoint=None, revision="main")        # HF_ENDPOINT or huggingface.co
    remote = hub.stat("images/test/00.zip")                # size, etag, pinned commit
    hub.fetch(remote, Path("out/.hub/images/test/00.zip"))
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from backend.cliutil import UserError

REPO_ID = "osv5m/osv5m"
REPO_TYPE = "dataset"
SPLITS: dict[str, int] = {"train": 98, "test": 5}
"""Image shards per split on the hub (``images/<split>/NN.zip``), as published; the download
asks for ``00, 01, ...`` until the hub has no more."""
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def shard_path(split: str, k: int) -> str:
    """The repository path of image shard ``k`` of ``split`` (``images/test/00.zip``)."""
    return f"images/{split}/{k:02d}.zip"


class HubError(UserError):
    """The hub cannot be reached, or does not have what was asked, or sent a bad file."""


class HubFileMissing(HubError):
    """The repository has no such file at this revision."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of the repository at a pinned commit."""

    path: str
    url: str          # where the bytes are (the hub's CDN redirect target, or the hub itself)
    size: int | None
    etag: str | None
    commit: str


class OSV5MHub:
    """The OSV-5M repository on one hub endpoint, pinned to one commit once known.

    Args:
        endpoint: hub URL (default ``HF_ENDPOINT`` or https://huggingface.co; a mirror works).
        revision: branch, tag or commit to read; after the first answer the commit it
            resolved to is used for every file, so all files come from one version.
        token: a Hugging Face token if the repository ever needs one (it is public).
    """

    def __init__(self, *, endpoint: str | None = None, revision: str = "main",
                 token: str | None = None, repo_id: str = REPO_ID) -> None:
        from huggingface_hub import constants

        self.endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
        self.revision = revision
        self.token = token
        self.repo_id = repo_id

    def _where(self) -> str:
        return f"{self.repo_id} at {self.endpoint}"

    def stat(self, path: str) -> RemoteFile:
        """Ask the hub about one file (a HEAD request; no download).

        Raises:
            HubError: no connection, offline mode, unknown file or revision, not a hub.
        """
        import httpx
        from huggingface_hub import get_hf_file_metadata, hf_hub_url
        from huggingface_hub.errors import (
            FileMetadataError,
            HfHubHTTPError,
            OfflineModeIsEnabled,
            RemoteEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        url = hf_hub_url(self.repo_id, path, repo_type=REPO_TYPE, revision=self.revision,
                         endpoint=self.endpoint)
        try:
            meta = get_hf_file_metadata(url, token=self.token, endpoint=self.endpoint)
        except OfflineModeIsEnabled:
            raise HubError("HF_HUB_OFFLINE is set, so the Hugging Face hub cannot be asked for "
                           f"{path}; unset it to download (files already here are kept)") from None
        except (httpx.ConnectError, httpx.TimeoutException, httpx.NetworkError) as exc:
            raise HubError(f"cannot reach the Hugging Face hub at {self.endpoint} ({exc}): no "
                           "internet connection? Check it (or --endpoint / HF_ENDPOINT for a "
                           "mirror) and rerun; what is already downloaded is kept") from None
        except RemoteEntryNotFoundError:
            raise HubFileMissing(f"{path} is not in {self._where()} (revision {self.revision}); "
                           "check --split and --revision") from None
        except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
            raise HubError(f"{self._where()}: repository or revision {self.revision!r} not "
                           f"found ({type(exc).__name__}); check --revision") from None
        except (HfHubHTTPError, FileMetadataError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HubError(f"the hub at {self.endpoint} refused {path}: {first}") from None
        if not meta.commit_hash:
            raise HubError(f"{self.endpoint} answered without a commit id: not a Hugging Face "
                           "hub endpoint; check --endpoint / HF_ENDPOINT")
        self.revision = meta.commit_hash  # pin: every later file from the same commit
        return RemoteFile(path=path, url=meta.location or url, size=meta.size,
                          etag=meta.etag, commit=meta.commit_hash)

    def shards(self, split: str) -> list[RemoteFile]:
        """Every image shard of ``split``: ``00.zip, 01.zip, ...`` until the hub has no more.

        Raises:
            HubError: no connection, or not even ``00.zip``.
        """
        out: list[RemoteFile] = []
        while True:
            try:
                out.append(self.stat(shard_path(split, len(out))))
            except HubFileMissing:
                if not out:
                    raise
                return out

    def fetch(self, remote: RemoteFile, dest: Path) -> Path:
        """Download ``remote`` to ``dest``, resuming a ``dest.part`` left by an earlier run.

        Returns:
            ``dest`` (already complete files are not downloaded again).

        Raises:
            HubError: the connection broke for good (the part is kept for the next run),
                or the finished file has the wrong size or sha256 (it is deleted).
        """
        import httpx
        from huggingface_hub.errors import HfHubHTTPError
        from huggingface_hub.file_download import http_get
        from huggingface_hub.utils import build_hf_headers

        dest = Path(dest)
        if dest.is_file() and (remote.size is None or dest.stat().st_size == remote.size):
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        tag = dest.with_name(dest.name + ".part.json")
        if part.is_file() and _read_tag(tag) != remote.etag:
            part.unlink()  # a part of another version of the file: start over
        tag.write_text(json.dumps({"etag": remote.etag, "commit": remote.commit}))
        done = part.stat().st_size if part.is_file() else 0
        if remote.size is not None and done > remote.size:
            part.unlink()
            done = 0
        headers = build_hf_headers(token=self.token) if remote.url.startswith(self.endpoint) \
            else {}
        try:
            with part.open("ab") as fh:
                http_get(remote.url, fh, resume_size=done, headers=headers,
                         expected_size=remote.size, displayed_filename=remote.path)
        except (httpx.HTTPError, HfHubHTTPError, OSError) as exc:
            have = part.stat().st_size if part.is_file() else 0
            raise HubError(f"download of {remote.path} stopped at {have:,} bytes ({exc}); rerun "
                           "the same command to resume from there") from None
        _check_file(part, remote)
        os.replace(part, dest)
        tag.unlink(missing_ok=True)
        return dest


def _read_tag(path: Path) -> str | None:
    try:
        return json.loads(path.read_text()).get("etag")
    except (OSError, ValueError, AttributeError):
        return None


def _check_file(path: Path, remote: RemoteFile) -> None:
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        path.unlink()
        raise HubError(f"{remote.path}: got {size:,} bytes, the hub says {remote.size:,}; the "
                       "partial file was removed, rerun to download it again")
    if remote.etag and _SHA256.match(remote.etag):
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
        if h.hexdigest() != remote.etag:
            path.unlink()
            raise HubError(f"{remote.path}: sha256 {h.hexdigest()[:12]}... does not match the "
                           f"hub's {remote.etag[:12]}...; the file was removed, rerun to "
                           "download it again")
