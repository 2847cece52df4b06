"""The repository's own conventions, checked (see docs/DEVELOPING.md)."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("backend", "bot", "benchmarks", "scripts")
VAGUE_NAMES = {"utils.py", "util.py", "helpers.py", "misc.py", "common.py"}
MAX_LINES = 600


def _sources():
    for d in SOURCE_DIRS:
        yield from (p for p in (REPO / d).rglob("*.py") if "vendor" not in p.parts)


def test_no_vague_module_names():
    bad = [str(p.relative_to(REPO)) for p in _sources() if p.name in VAGUE_NAMES]
    assert not bad, f"name modules for what they are, not {bad}"


def test_modules_stay_small():
    big = [(str(p.relative_to(REPO)), n) for p in _sources()
           if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not big, f"modules over {MAX_LINES} lines (split them by idea): {big}"


def test_every_module_has_a_docstring():
    import ast
    bad = []
    for p in _sources():
        if p.name == "__main__.py":
            continue
        tree = ast.parse(p.read_text())
        if tree.body and ast.get_docstring(tree) is None:
            bad.append(str(p.relative_to(REPO)))
    assert not bad, f"modules without a usage docstring: {bad}"
