"""The layer contracts of DESIGN.md, enforced by import-linter (see pyproject.toml)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# (module, function): why that function imports inside its body. Anything else in the core
# imports at the top, so a renamed module fails at import time, not when a path first runs.
FUNCTION_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {
    ("agentos/services/backends/__init__.py", "build_backends"): (
        "each deployment loads only its own backends: the embedded one never imports the "
        "Redis client stack, and a Redis deployment never builds the SQLite bus"
    ),
}
MAX_MODULE_LINES = 400
MAX_SERVICES_TOP_LEVEL = 12


def _function_imports(path: Path) -> set[tuple[str, str]]:
    found = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    found.add((str(path.relative_to(ROOT)), node.name))
    return found


def test_no_imports_inside_functions_in_the_core() -> None:
    found: set[tuple[str, str]] = set()
    for path in sorted((ROOT / "agentos" / "services").rglob("*.py")):
        found |= _function_imports(path)
    assert found - set(FUNCTION_IMPORTS_ALLOWED) == set()
    assert set(FUNCTION_IMPORTS_ALLOWED) - found == set(), "stale allow-list entries"


def test_modules_stay_small_and_the_core_stays_navigable() -> None:
    big = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "agentos").rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert big == {}
    top_level = [p for p in (ROOT / "agentos" / "services").glob("*.py") if p.name != "__init__.py"]
    assert len(top_level) <= MAX_SERVICES_TOP_LEVEL, sorted(p.name for p in top_level)
