"""``pigeon data osv5m``: OSV-5M from the Hugging Face hub into our dataset layout, resumable.

For one split (``train`` or ``test``):

1. **Plan.** Ask the hub (HEAD requests only) for the split's CSV and image shards: sizes and
   the commit they belong to (every file then comes from that commit). Print what will be
   downloaded and how much free disk it needs; stop with a one-line error when there is
   less. The estimate uses the published row counts (:data:`PUBLISHED_ROWS`) to turn a
   ``--limit`` into bytes; the free space is checked again before every shard.
2. **CSV.** Download ``<split>.csv`` to ``OUT/.hub/`` (resumable) and read its ids.
3. **Shards, in order.** Download ``images/<split>/NN.zip`` (resumable), unpack the images
   whose id is a CSV row to ``OUT/images/<split>/<id>.jpg`` (zip CRC checked while reading,
   JPEG signature checked, written under a temporary name then renamed), mark the shard done
   in ``OUT/.hub/state-<split>.json``, delete the zip. With ``--limit N`` it stops once N images
   are unpacked (a shard used in part keeps its zip, so a later larger ``--limit`` continues
   from it). A killed run resumes: finished shards are skipped, unpacked images kept, a
   partial download continues from its last byte.
4. **Our layout.** ``OUT/<split>.csv`` holds the rows with an unpacked image, in the hub's
   order, with the columns pigeon uses (:data:`KEEP_COLUMNS` plus ``month`` from
   ``captured_at``): the OSV-5M layout ``backend.eval.datasets`` reads (images at
   ``images/<split>/<id>.jpg`` beside the CSV). Bad rows (bad coordinates, empty or
   duplicate id) are left out and listed. ``OUT/osv5m.json`` (format ``pigeon-osv5m/1``)
   records the source, commit, parameters and counts.

Usage::

    pigeon data osv5m --out data/osv5m --split test --limit 2000
    summary = download_osv5m("data/osv5m", split="test", limit=2000)
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.cliutil import UserError, progress
from backend.eval.osv5m_hub import REPO_ID, SPLITS, OSV5MHub, RemoteFile

DATA_FORMAT = "pigeon-osv5m/1"
META_FILE = "osv5m.json"
PUBLISHED_ROWS = {"train": 4_894_685, "test": 210_122}
"""Rows of the hub's CSVs (the OSV-5M paper and the hub): only for the disk estimate."""
KEEP_COLUMNS = ("id", "latitude", "longitude", "country", "region", "sub-region", "city",
                "unique_country", "unique_region", "unique_sub-region", "unique_city")
"""Hub CSV columns written to our CSV (the ``unique_*`` labels are OSV-5M's own evaluation
labels, see ``backend.eval.osv5m_metrics``); the full hub CSV stays in ``OUT/.hub/``."""
MAX_LISTED = 100
SAFETY = 1.05


def _gb(n: float) -> str:
    """Bytes as text: ``'2.47 GB'``, ``'116 MB'``, ``'12 kB'``."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}" if unit == "GB" else f"{n / size:.0f} {unit}"
    return f"{int(n)} B"


def month_of(captured_at: str) -> str:
    """Month 1-12 of a ``captured_at`` value (epoch milliseconds or seconds, or an ISO date),
    as text; ``""`` when it cannot be read."""
    text = (captured_at or "").strip()
    if not text:
        return ""
    try:
        value = float(text)
    except ValueError:
        try:
            return str(_dt.datetime.fromisoformat(text).month)
        except ValueError:
            return ""
    if not math.isfinite(value) or value <= 0:
        return ""
    seconds = value / 1000.0 if value > 1e11 else value  # Mapillary gives milliseconds
    try:
        return str(_dt.datetime.fromtimestamp(seconds, _dt.UTC).month)
    except (OverflowError, OSError, ValueError):
        return ""


def _load_json(path: Path, default: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def _save_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _read_ids(csv_path: Path, split: str) -> set[str]:
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        if "id" not in header:
            raise UserError(f"{csv_path}: the hub's {split}.csv has no 'id' column (header "
                            f"{header[:8]}); the OSV-5M layout changed, please report it")
        col = header.index("id")
        rows = progress(reader, desc=f"{split}.csv ids", unit="row")
        return {r[col].strip() for r in rows if len(r) > col and r[col].strip()}


def _unpack_shard(zip_path: Path, ids: set[str], dest: Path, *, room: int | None,
                  present: set[str]) -> dict[str, int]:
    """Unpack the images of ``zip_path`` whose id is in ``ids`` (at most ``room`` new ones)."""
    counts = {"unpacked": 0, "already": 0, "without_row": 0, "bad_image": 0, "complete": 1}
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        zip_path.unlink(missing_ok=True)
        raise UserError(f"{zip_path.name} is not a readable zip ({exc}); it was removed, "
                        "rerun to download it again") from None
    with zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or not name.lower().endswith((".jpg", ".jpeg")):
                continue
            ident = Path(name).stem
            if ident not in ids:
                counts["without_row"] += 1
                continue
            if ident in present:
                counts["already"] += 1
                continue
            if room is not None and counts["unpacked"] >= room:
                counts["complete"] = 0
                break
            target = dest / f"{ident}.jpg"
            tmp = dest / f".{ident}.jpg.tmp"
            try:
                with zf.open(info) as src, tmp.open("wb") as out:  # CRC checked at the end
                    shutil.copyfileobj(src, out, 1 << 20)
                with tmp.open("rb") as fh:
                    ok = fh.read(3) == b"\xff\xd8\xff"
            except (zipfile.BadZipFile, OSError, EOFError):
                ok = False
            if not ok:
                tmp.unlink(missing_ok=True)
                counts["bad_image"] += 1
                continue
            os.replace(tmp, target)
            present.add(ident)
            counts["unpacked"] += 1
    return counts


def _write_split_csv(hub_csv: Path, out_csv: Path, present: set[str], limit: int | None
                     ) -> dict[str, Any]:
    """Our CSV: the hub rows with an image, the kept columns plus ``month``; bad rows listed."""
    bad: list[str] = []
    n_bad = written = without_image = 0
    seen: set[str] = set()
    tmp = out_csv.with_name(out_csv.name + ".tmp")
    with hub_csv.open(newline="", encoding="utf-8-sig") as src, \
            tmp.open("w", newline="", encoding="utf-8") as dst:
        reader = csv.reader(src)
        header = [h.strip() for h in next(reader, [])]
        cols = [c for c in KEEP_COLUMNS if c in header]
        at = {c: header.index(c) for c in cols}
        cap = header.index("captured_at") if "captured_at" in header else None
        writer = csv.writer(dst)
        writer.writerow([*cols, "month"])
        rows = progress(reader, desc=f"writing {out_csv.name}", unit="row")
        for line_no, row in enumerate(rows, start=2):
            if limit is not None and written >= limit:
                break
            get = {c: (row[i].strip() if i < len(row) else "") for c, i in at.items()}
            ident = get.get("id", "")
            if ident not in present:
                without_image += 1
                continue
            why = []
            try:
                lat, lng = float(get["latitude"]), float(get["longitude"])
                if not (abs(lat) <= 90 and abs(lng) <= 180):
                    why.append(f"coordinates {lat}, {lng} out of range")
            except ValueError:
                why.append(f"coordinates {get['latitude']!r}, {get['longitude']!r} not numbers")
            if ident in seen:
                why.append("duplicate id")
            if why:
                n_bad += 1
                if len(bad) < MAX_LISTED:
                    bad.append(f"line {line_no} (id {ident!r}): " + "; ".join(why))
                continue
            seen.add(ident)
            month = month_of(row[cap]) if cap is not None and cap < len(row) else ""
            writer.writerow([*(get[c] for c in cols), month])
            written += 1
    os.replace(tmp, out_csv)
    return {"rows_written": written, "rows_without_image": without_image, "bad_rows": n_bad,
            "bad_rows_listed": bad, "columns": [*cols, "month"]}


def _plan(hub: OSV5MHub, split: str, out: Path, limit: int | None, state: dict[str, Any],
          disk_free: Callable[[Path], int]) -> tuple[RemoteFile, list[RemoteFile], str]:
    csv_remote = hub.stat(f"{split}.csv")
    shards = hub.shards(split)
    zip_total = sum(s.size or 0 for s in shards)
    rows = PUBLISHED_ROWS[split]
    target = rows if limit is None else min(limit, rows)
    per_image = zip_total / rows
    left_images = max(0, target - int(state.get("unpacked", 0)))
    csv_missing = 0 if (out / ".hub" / f"{split}.csv").is_file() else (csv_remote.size or 0)
    largest = max((s.size or 0 for s in shards), default=0)
    need = int((csv_missing + left_images * per_image + largest) * SAFETY)
    free = disk_free(out)
    n_use = len(shards) if limit is None else min(len(shards), math.ceil(target / (rows /
                                                                        len(shards))) + 1)
    text = (f"OSV-5M {split} ({REPO_ID} @ {csv_remote.commit[:10]}): {split}.csv "
            f"{_gb(csv_remote.size or 0)}, {len(shards)} image shards {_gb(zip_total)}"
            + ("" if limit is None else f", about {n_use} of them for --limit {limit}")
            + f"; needs about {_gb(need)} free in {out} ({_gb(free)} free)")
    if free < need:
        raise UserError(f"not enough disk space: {text}; free some space or pass a smaller "
                        "--limit")
    return csv_remote, shards, text


def download_osv5m(out_dir: str | Path, *, split: str = "test", limit: int | None = None,
                   endpoint: str | None = None, revision: str = "main",
                   disk_free: Callable[[Path], int] | None = None,
                   hub: OSV5MHub | None = None, say: Callable[[str], None] = print
                   ) -> dict[str, Any]:
    """Download, unpack, check and lay out one OSV-5M split (see the module docstring).

    Args:
        out_dir: the dataset folder (created; a rerun resumes in it).
        split: ``"train"`` or ``"test"``.
        limit: stop after this many images (shards are used in order).
        endpoint, revision: the hub and the revision (branch, tag or commit) to read.
        disk_free: ``path -> free bytes`` (default ``shutil.disk_usage``).
        hub: an :class:`OSV5MHub` (default one for ``endpoint`` / ``revision``).
        say: where progress lines go.

    Returns:
        The split's entry of ``osv5m.json``.

    Raises:
        UserError: bad arguments, no connection, not enough disk space, bad downloads.
    """
    if split not in SPLITS:
        raise UserError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage = out / ".hub"
    stage.mkdir(exist_ok=True)
    disk_free = disk_free or (lambda p: shutil.disk_usage(p).free)
    state_path = stage / f"state-{split}.json"
    state = _load_json(state_path, {"shards_done": {}, "unpacked": 0})
    if hub is None:
        hub = OSV5MHub(endpoint=endpoint, revision=state.get("commit") or revision)
    csv_remote, shards, plan = _plan(hub, split, out, limit, state, disk_free)
    if state.get("commit") not in (None, csv_remote.commit):
        raise UserError(f"{out} holds OSV-5M {split} from commit {state['commit'][:10]}, the "
                        f"hub now serves {csv_remote.commit[:10]}; pass --revision "
                        f"{state['commit']} to finish it, or use another --out")
    state["commit"] = csv_remote.commit
    say(plan)
    hub_csv = hub.fetch(csv_remote, stage / f"{split}.csv")
    ids = _read_ids(hub_csv, split)
    images = out / "images" / split
    images.mkdir(parents=True, exist_ok=True)
    present = {e.name[:-4] for e in os.scandir(images) if e.name.endswith(".jpg")}
    state["unpacked"] = len(present)
    todo = [s for k, s in enumerate(shards) if str(k) not in state["shards_done"]]
    bar = progress(todo, total=len(todo), desc=f"{split} shards", unit="shard")
    for remote in bar:
        if limit is not None and len(present) >= limit:
            break
        k = int(Path(remote.path).stem)
        local = stage / remote.path
        if not local.is_file() and disk_free(out) < (remote.size or 0) * SAFETY:
            raise UserError(f"not enough disk space for {remote.path} ({_gb(remote.size or 0)})"
                            f" in {out}; free some space and rerun to continue")
        hub.fetch(remote, local)
        room = None if limit is None else limit - len(present)
        counts = _unpack_shard(local, ids, images, room=room, present=present)
        state["unpacked"] = len(present)
        if counts.pop("complete"):
            state["shards_done"][str(k)] = counts
            state.pop("partial", None)
            local.unlink(missing_ok=True)  # the images are out: the zip is not needed
        else:
            state["partial"] = {str(k): counts}
        _save_json(state_path, state)
    result = _write_split_csv(hub_csv, out / f"{split}.csv", present, limit)
    done = len(state["shards_done"])
    entry = {"csv": f"{split}.csv", "images": f"images/{split}", "limit": limit,
             "shards_done": done, "shards_total": len(shards),
             "complete": done == len(shards) or (limit is not None
                                                 and result["rows_written"] >= limit),
             "images_unpacked": len(present),
             "images_without_row": sum(c["without_row"] for c in state["shards_done"].values()),
             "bad_images": sum(c["bad_image"] for c in state["shards_done"].values()),
             "hub_rows": len(ids), **result,
             "updated": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    if done < len(shards) and limit is None:
        entry["note"] = "not every shard is unpacked yet; rerun to continue"
    meta = _load_json(out / META_FILE, {})
    meta.update({"format": DATA_FORMAT, "made_by": "pigeon data osv5m "
                 "(backend.eval.osv5m_data)",
                 "source": {"repo": REPO_ID, "repo_type": "dataset", "endpoint": hub.endpoint,
                            "commit": csv_remote.commit},
                 "licence": "images from Mapillary (published under CC BY-SA 4.0); read the "
                            "dataset card on the hub before use"})
    meta.setdefault("splits", {})[split] = entry
    _save_json(out / META_FILE, meta)
    return entry


def run_osv5m_command(args: Any) -> int:
    """``pigeon data osv5m``: the CLI shell around :func:`download_osv5m`."""
    e = download_osv5m(args.out, split=args.split, limit=args.limit, endpoint=args.endpoint,
                       revision=args.revision)
    print(f"{args.out}/{e['csv']}: {e['rows_written']} rows with images in {e['images']} "
          f"({e['shards_done']}/{e['shards_total']} shards unpacked, {e['bad_rows']} bad rows "
          f"and {e['bad_images']} unreadable images left out; see {Path(args.out) / META_FILE})")
    if not e["complete"]:
        print("not finished: rerun the same command to continue")
    return 0
