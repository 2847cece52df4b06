"""``pigeon ablate``: the PIGEON paper's ablation ladder (its Table 1) and ours (Table 2).

Each rung adds one idea to the one before (the list :data:`LADDER` is data):

 1. CLIP base — frozen backbone, one view, hard labels (label smoothing off: one-hot on the
    cell that holds the point), plain equal-area grid cells, argmax pin;
 2. + label smoothing (haversine, tau 75 km);   3. + four views (mean embedding);
 4. + last-layer fine-tuning;   5. + multi-task (auxiliary heads);
 6. + semantic geocells instead of the plain grid;   7. + contrastive pretraining (backbone
    weights from ``--contrastive-weights``, else ``backend.model.pretrain.main`` is run on
    the training set's captions);   8. + refinement (retrieval index);
 9. ours: + expected-score pin (the pin that maximises the expected GeoGuessr score).

Every rung really trains (``backend.model.train_heads.main(argv)``), is saved as a bundle
(``backend.model.bundle.save_bundle``), and is evaluated with ``backend.eval.evaluate`` on
the test set (cut to the rung's number of views). A rung that cannot run (e.g. no
contrastive weights, a missing module) is shown as skipped with the reason; the rungs after
an unavailable idea run without it and say so in their name. Nothing is left out silently.

A rung that changes only the pin (Table 2's expected-score pin) evaluates the bundle of the
rung before it: the same model, another pin; its label says whose model it is.

Outputs under ``--out``: ``settings.json``, ``NN-<rung>/`` (training run, bundle, eval
report, ``rung.json``), ``_cache/`` (embeddings, cells, pretraining), ``ladder.json``
(format ``pigeon-ablation/1``) and ``ladder.txt``.

Resumable: run the same command again after a kill and the rungs whose reports were written
are read back instead of trained again (a folder holding a run with other settings is
refused); the contrastive pretraining of an earlier run is reused too.

Usage::

    pigeon ablate --train split/train.csv --test split/test.csv --out runs/ladder \\
        --backbone pigeon-tiny --weights synth-clip.pt --epochs 5
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from backend.cliutil import UserError
from backend.eval.datasets import Dataset
from backend.eval.ladder import (
    IDEAS,
    LADDER,
    AblationSettings,
    Rung,
    RungResult,
    new_idea,
    parse_without,
    rung_folder,
    select_rungs,
    train_argv,
)
from backend.eval.ladder_resume import check_settings, finished_rung, record_finished

__all__ = ["IDEAS", "LADDER", "AblationSettings", "LadderRunner", "Rung",
           "RungResult", "format_tables", "parse_without", "run_ablate_command",
           "select_rungs", "train_argv", "with_views", "write_ladder"]

ABLATION_FORMAT = "pigeon-ablation/1"


def with_views(dataset: Dataset, views: int) -> Dataset:
    """The same dataset keeping only the first ``views`` images of each location."""
    locs = [dataclasses.replace(loc, image_paths=list(loc.image_paths[:views]))
            for loc in dataset.locations]
    return Dataset(dataset.path, dataset.layout, locs, dataset.bad_rows, dataset.rows_read)


class LadderRunner:
    """Runs rungs with the project's real training, bundling and evaluation functions.

    Shared artifacts (cells, embeddings) are built once per run under ``out/_cache``.
    ``train_fn`` defaults to ``backend.model.train_heads.main`` (tests may pass another
    callable with the same ``argv -> int`` contract).
    """

    def __init__(self, settings: AblationSettings, *,
                 train_fn: Callable[[list[str]], int] | None = None,
                 pretrain_fn: Callable[[list[str]], int] | None = None) -> None:
        from backend.eval.datasets import load_dataset

        self.s = settings
        self.out = Path(settings.out)
        self.cache = self.out / "_cache"
        self._train_fn = train_fn
        self._pretrain_fn = pretrain_fn
        try:
            self.train = load_dataset(settings.train_csv, on_bad_row=settings.on_bad_row)
            self.test = load_dataset(settings.test_csv, on_bad_row=settings.on_bad_row
                                     ).head(settings.limit)
        except ValueError as exc:
            raise UserError(str(exc).replace("\n", " | ")) from None
        self._cells: dict[bool, tuple[Any, Path]] = {}
        self._backbones: dict[bool, tuple[Any, str | None]] = {}
        self._emb: dict[tuple[bool, int], Path] = {}
        self._last_model: tuple[Rung, Path] | None = None
        """The last rung's effective configuration and bundle (a rung that changes only
        the pin evaluates that bundle again instead of training the same model twice)."""

    # -- shared artifacts ---------------------------------------------------------------------
    def cells(self, semantic: bool) -> tuple[Any, Path]:
        """(Geocells, file) — the plain grid, or the semantic cells (given or built)."""
        if semantic not in self._cells:
            from backend.geocells import Geocells

            path = self.cache / ("semantic-geocells.json" if semantic else "grid-geocells.json")
            lat, lng = self.train.lats(), self.train.lngs()
            meta = self.train.describe()
            try:
                if semantic and self.s.geocells:
                    cells = Geocells.load(self.s.geocells)
                elif semantic:
                    from backend.geocells.areas import load_areas
                    from backend.geocells.build import GeocellParams, build_geocells

                    params = GeocellParams(self.s.cell_min, self.s.cell_max).check()
                    cells, _ = build_geocells(lat, lng, load_areas(), params, input_meta=meta)
                else:
                    from backend.eval.grid_cells import make_grid_cells

                    cells = make_grid_cells(lat, lng, n_bands=self.s.grid_bands,
                                            min_points=self.s.grid_min_points, input_meta=meta)
            except ValueError as exc:  # bad cell parameters, file or points
                kind = "semantic geocells" if semantic else "grid cells"
                raise UserError(f"cannot make the {kind}: {exc}") from None
            cells.save(path)
            self._cells[semantic] = (cells, path)
        return self._cells[semantic]

    def backbone(self, contrastive: bool) -> tuple[Any, str | None]:
        """(frozen Backbone, its weights source) — base or contrastively pretrained."""
        if contrastive not in self._backbones:
            source = self.s.contrastive_weights if contrastive else self.s.weights
            if contrastive and not source:
                source = self._pretrain()
            if source:
                from backend.model.weights import load_backbone

                bb = load_backbone(self.s.backbone, source)
            else:
                from backend.model.backbone import build_backbone

                bb = build_backbone(self.s.backbone, seed=self.s.seed)
            self._backbones[contrastive] = (bb, source)
        return self._backbones[contrastive]

    def embeddings(self, backbone: Any, key: Any, views: int, folder: Path | None = None
                   ) -> Path:
        """Embed the training set with ``backbone`` (cached per key and view count)."""
        from backend.model.embed import embed_dataset

        cache_key = (key, views)
        if folder is None and cache_key in self._emb:
            return self._emb[cache_key]
        path = folder or self.cache / f"train-emb-{key}-{views}view"
        embed_dataset(backbone, with_views(self.train, views), path, device=self.s.device,
                      show_progress=not self.s.quiet)
        if folder is None:
            self._emb[cache_key] = path
        return path

    def pretrain_argv(self, out: Path) -> list[str]:
        """Arguments for ``backend.model.pretrain.main``: contrastive pretraining on the
        training set's captions, starting from the base weights."""
        argv = ["--data", str(self.s.train_csv), "--out", str(out), "--model", self.s.backbone,
                "--epochs", str(self.s.pretrain_epochs or self.s.epochs),
                "--seed", str(self.s.seed), "--device", self.s.device]
        if self.s.weights:
            argv += ["--weights", str(self.s.weights)]
        if self.s.quiet:
            argv.append("--quiet")
        return argv

    def _pretrain(self) -> str:
        """Run contrastive pretraining (no --contrastive-weights given); returns clip.pt."""
        fn = self._pretrain_fn
        if fn is None:
            from backend.model.pretrain import main as fn
        out = self.cache / "pretrain"
        argv = self.pretrain_argv(out)
        record = out / "ablate-argv.json"
        if (out / "clip.pt").is_file() and record.is_file() and \
                json.loads(record.read_text(encoding="utf-8")) == argv:
            return str(out / "clip.pt")  # an earlier run of this ladder pretrained it
        rc = fn(argv)
        if rc or not (out / "clip.pt").is_file():
            raise UserError(f"contrastive pretraining failed (exit {rc}) with: "
                            f"{' '.join(argv)}; or give --contrastive-weights")
        record.write_text(json.dumps(argv) + "\n", encoding="utf-8")
        return str(out / "clip.pt")

    def _train(self, argv: list[str]) -> None:
        fn = self._train_fn
        if fn is None:
            from backend.model.train_heads import main as fn
        rc = fn(argv)
        if rc:
            raise UserError(f"training failed (exit {rc}) with: {' '.join(argv)}")

    # -- one rung -------------------------------------------------------------------------------
    def run_rung(self, index: int, rung: Rung, notes: list[str]) -> RungResult:
        """Train, bundle, index (refinement rungs) and evaluate one rung."""
        import torch

        from backend.model.backbone import backbone_from_state
        from backend.model.bundle import save_bundle
        from backend.model.heads import heads_from_state

        t0 = time.perf_counter()
        folder = rung_folder(self.out, index, rung)
        folder.mkdir(parents=True, exist_ok=True)
        same_model = self._same_model(rung)
        if same_model is not None:
            notes = [*notes, f"the model of {same_model.parent.name}"]
            return self._evaluate(index, rung, notes, folder, same_model, t0)
        cells, cells_path = self.cells(rung.semantic_cells)
        base, source = self.backbone(rung.contrastive)
        emb = None if rung.finetune else self.embeddings(base, rung.contrastive, rung.views)
        run_dir = folder / "train"
        self._train(train_argv(rung, self.s, cells=cells_path, run_dir=run_dir,
                               embeddings=emb, weights=source))
        heads = heads_from_state(torch.load(run_dir / "heads.pt", map_location="cpu",
                                            weights_only=False))
        backbone = base
        if rung.finetune and (run_dir / "backbone.pt").is_file():
            backbone = backbone_from_state(torch.load(run_dir / "backbone.pt",
                                                      map_location="cpu", weights_only=False))
        index_file = None
        if rung.refinement:
            index_file = self._build_index(backbone, cells, folder, rung, emb)
        bundle_dir = save_bundle(folder / "bundle", backbone=backbone, heads=heads,
                                 geocells=cells, index_file=index_file, overwrite=True,
                                 data={"train": self.train.describe(),
                                       "test": self.test.describe()},
                                 parameters={"ablation_rung": dataclasses.asdict(rung),
                                             "notes": notes, "train_argv_dir": str(run_dir)})
        self._last_model = (rung, bundle_dir)
        return self._evaluate(index, rung, notes, folder, bundle_dir, t0)

    def _same_model(self, rung: Rung) -> Path | None:
        """The bundle of the rung before when this rung differs from it only in the pin."""
        if self._last_model is None:
            return None
        last, bundle_dir = self._last_model
        if dataclasses.replace(last, name=rung.name, table=rung.table, pin=rung.pin) != rung:
            return None
        return bundle_dir if (bundle_dir / "bundle.json").is_file() else None

    def _evaluate(self, index: int, rung: Rung, notes: list[str], folder: Path,
                  bundle_dir: Path, t0: float) -> RungResult:
        """Evaluate a rung's bundle on the test places and write its report."""
        from backend.eval.evaluate import (
            default_aux_truth,
            default_country_lookup,
            eval_metadata,
            evaluate_predictions,
            predict_dataset,
            write_reports,
        )
        from backend.model.bundle import bundle_summary, load_bundle
        from backend.predict.predictor import Predictor

        bundle = load_bundle(bundle_dir, device=self.s.device)
        predictor = Predictor(bundle, index="bundle" if rung.refinement else None)
        test = with_views(self.test, rung.views)
        preds = predict_dataset(predictor, test, pin=rung.pin,
                                on_bad_image=self.s.on_bad_row, show_progress=not self.s.quiet)
        aux_truth = default_aux_truth(test.lats(), test.lngs()) if rung.multitask else None
        report = evaluate_predictions(preds, country_lookup=default_country_lookup(),
                                      geocells=bundle.geocells, aux_truth=aux_truth,
                                      n_boot=self.s.n_boot, seed=self.s.seed)
        meta = eval_metadata(test, preds, model=bundle_summary(bundle_dir),
                             params={"rung": dataclasses.asdict(rung), "notes": notes})
        write_reports(folder / "report", preds, report, meta=meta, plots=True)
        scores = {loc.id: float(s) for loc, s in zip(preds.locations, report.items["score"],
                                                       strict=True)}
        return RungResult(index, rung, report=report, notes=notes, scores=scores,
                          seconds=time.perf_counter() - t0, folder=str(folder))

    def _build_index(self, backbone: Any, cells: Any, folder: Path, rung: Rung,
                     emb: Path | None) -> Path:
        from backend.model.embed import load_embeddings
        from backend.predict.index import build_index

        if emb is None:  # a fine-tuned backbone: embed the training set with it
            emb = self.embeddings(backbone, "finetuned", rung.views, folder / "train-emb")
        e = load_embeddings(emb)
        lat, lng = e.latlng[:, 0], e.latlng[:, 1]
        idx = build_index(e.embeddings, lat, lng, cells.assign(lat, lng), num_cells=len(cells),
                          source={"train": self.train.describe(), "embeddings": str(emb)},
                          backbone=backbone.describe(),
                          precision=e.meta.get("precision", "fp32"))
        return idx.save(folder / "index.npz")

    # -- the ladder -----------------------------------------------------------------------------
    def run(self, rungs: Sequence[Rung]) -> list[RungResult]:
        """Run the rungs in order; an idea that cannot run is skipped (with its reason) and
        the later rungs go on without it, saying so."""
        check_settings(self.out, self.s)
        results: list[RungResult] = []
        dropped: dict[str, str] = {idea: "left out by --without" for idea in self.s.without}
        for rung in rungs:
            i = LADDER.index(rung) + 1 if rung in LADDER else len(results) + 1
            notes = [f"without {k}" for k in dropped]
            views = max(len(loc.image_paths) for loc in self.train)
            if rung.views > views:
                notes.append(f"the data has {views} view(s) per location")
            effective = dataclasses.replace(rung, **{k: False for k in dropped})
            own = new_idea(rung)
            if own in dropped:
                results.append(RungResult(i, rung, skipped=dropped[own]))
                continue
            earlier = finished_rung(self.out, i, effective, notes)
            if earlier is not None:
                results.append(earlier)
                if (Path(earlier.folder) / "bundle" / "bundle.json").is_file():
                    self._last_model = (effective, Path(earlier.folder) / "bundle")
                print(f"[{i}/{len(LADDER)}] {earlier.label}: done in an earlier run "
                      f"({earlier.folder})", flush=True)
                continue
            try:
                results.append(self.run_rung(i, effective, notes))
                record_finished(results[-1])
            except (UserError, ImportError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if own:
                    dropped[own] = reason
                results.append(RungResult(i, rung, skipped=reason, notes=notes))
            r = results[-1]
            state = "skipped: " + r.skipped if r.skipped else f"done in {r.seconds:.0f} s"
            print(f"[{i}/{len(LADDER)}] {r.label}: {state}", flush=True)
        return results


def format_tables(results: Sequence[RungResult], paired: Sequence[dict[str, Any]] = ()) -> str:
    """Table 1 (the paper's ladder) and Table 2 (ours) in the paper's column shape, then the
    paired differences between consecutive rungs when given."""
    from backend.eval.ladder_paired import format_differences
    from backend.eval.metrics import format_ladder

    parts = []
    for table, title in (("paper", "Table 1: the PIGEON ablation ladder"),
                         ("ours", "Table 2: beyond the paper")):
        rows = [r for r in results if r.rung.table == table]
        if table == "ours":  # compare with the last paper rung that ran
            done = [r for r in results if r.rung.table == "paper" and r.report is not None]
            rows = done[-1:] + rows
        if not rows:
            continue
        ran = [(r.label, r.report) for r in rows if r.report is not None]
        text = format_ladder(ran) if ran else "(no rung of this table ran)"
        skipped = [f"  skipped: {r.rung.name}: {r.skipped}" for r in rows if r.skipped]
        parts.append("\n".join([title, text, *skipped]))
    if paired:
        parts.append(format_differences(paired))
    return "\n\n".join(parts)


def write_ladder(results: Sequence[RungResult], settings: AblationSettings) -> Path:
    """Write ``ladder.json`` and ``ladder.txt`` into ``settings.out``; returns the JSON path."""
    from backend.eval.ladder_paired import consecutive_differences

    paired = consecutive_differences(results, n_boot=settings.n_boot, seed=settings.seed)
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"format": ABLATION_FORMAT, "made_by": "pigeon ablate (backend.eval.ablate)",
           "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
           "settings": dataclasses.asdict(settings),
           "rungs": [{"index": r.index, "rung": dataclasses.asdict(r.rung), "label": r.label,
                      "skipped": r.skipped, "notes": r.notes, "seconds": round(r.seconds, 2),
                      "folder": r.folder,
                      "metrics": r.report.to_dict() if r.report is not None else None}
                     for r in results],
           "paired_score_differences": paired}
    (out / "ladder.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    (out / "ladder.txt").write_text(format_tables(results, paired) + "\n", encoding="utf-8")
    return out / "ladder.json"


def run_ablate_command(args: Any) -> int:
    """``pigeon ablate``: the CLI shell."""
    rungs = select_rungs(args.only)
    if args.list:
        for r in LADDER:
            flags = {k: v for k, v in dataclasses.asdict(r).items() if k != "name"}
            print(f"{LADDER.index(r) + 1}. {r.name}: {flags}")
        return 0
    missing = [f"--{n}" for n in ("train", "test", "out") if not getattr(args, n)]
    if missing:
        raise UserError(f"give {', '.join(missing)} (or --list to see the rungs)")
    s = AblationSettings(train_csv=args.train, test_csv=args.test, out=args.out,
                         backbone=args.backbone or "pigeon-tiny", weights=args.weights,
                         contrastive_weights=args.contrastive_weights, geocells=args.geocells,
                         grid_bands=args.grid_bands, cell_min=args.cell_min,
                         cell_max=args.cell_max, epochs=args.epochs or 10,
                         pretrain_epochs=args.pretrain_epochs, backbone_lr=args.backbone_lr,
                         loss_weights=args.loss_weights,
                         batch_size=args.batch_size, limit=args.limit, n_boot=args.n_boot,
                         seed=args.seed, device=args.device, on_bad_row=args.on_bad_row,
                         without=parse_without(args.without))
    if not s.weights:
        print("note: no --weights: the base backbone is randomly initialised")
    results = LadderRunner(s).run(rungs)
    path = write_ladder(results, s)
    print(path.with_suffix(".txt").read_text(encoding="utf-8"), end="")
    print(f"wrote {path} and {path.with_suffix('.txt')}")
    return 0 if any(r.report is not None for r in results) else 1
