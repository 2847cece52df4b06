"""The sans-I/O core imports nothing but the standard library and numpy.

Reads every module under backend/core with ``ast`` (without importing it) and fails on
an import of torch, asyncio, sockets or any third-party package other than numpy.
"""

import ast
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "backend" / "core"
ALLOWED_THIRD_PARTY = {"numpy"}
FORBIDDEN_STDLIB = {"asyncio", "socket", "selectors", "ssl", "http", "urllib", "sqlite3",
                    "subprocess", "threading"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_is_sans_io():
    files = sorted(CORE.glob("*.py"))
    assert files, "backend/core has no modules?"
    problems = []
    for path in files:
        for name in _imports(path):
            if name in FORBIDDEN_STDLIB:
                problems.append(f"{path.name} imports {name} (I/O belongs in a shell module)")
            elif name in {"__future__", "backend"} or name in ALLOWED_THIRD_PARTY:
                continue
            elif name not in sys.stdlib_module_names:
                problems.append(f"{path.name} imports third-party {name}")
    assert not problems, "\n".join(problems)


def test_core_imports_only_core():
    for path in sorted(CORE.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("backend"):
                assert node.module.startswith("backend.core"), f"{path.name}: {node.module}"


def test_backend_never_imports_bot():
    backend = CORE.parent
    for path in backend.rglob("*.py"):
        assert "bot" not in _imports(path), f"{path} imports bot; backend must not depend on bot"
