"""The error catalog: every code raised anywhere in agentos/ is in it, with the kind it is
raised with; docs/errors.md and the OpenAPI document show it as generated."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from agentos.errors import ERROR_CLASS_BY_KIND, EXIT_CODE_BY_KIND
from agentos.errors.catalog import CATALOG
from agentos.governance import errors_doc
from agentos.governance.model import Subject
from agentos.server.errors import CODE_BY_HTTP_STATUS, HTTP_STATUS_BY_KIND, catalog_rows

ROOT = Path(__file__).resolve().parents[2]
CODE_PARAMS = ("code", "error_code", "default_code")
KIND_OF_CLASS = {cls.__name__: kind for kind, cls in ERROR_CLASS_BY_KIND.items()}
KIND_OF_CLASS["AgentOSError"] = "internal"


def _is_code(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isupper()


def _signatures(tree: ast.Module) -> dict[str, list[str]]:
    """Positional parameter names of the module's functions, classes and dataclasses."""
    found: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            found[node.name] = [arg.arg for arg in node.args.args]
        elif isinstance(node, ast.ClassDef):
            init = next(
                (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"),
                None,
            )
            if init is not None:
                found[node.name] = [arg.arg for arg in init.args.args[1:]]
            else:
                found[node.name] = [
                    n.target.id
                    for n in node.body
                    if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
                ]
    return found


def _constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and _is_code(node.value)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value, ast.Constant)
    }


def _assigned_code(node: ast.AST) -> Iterator[str]:
    """`default_code = "X"` and `job.error_code = ... or "X"`."""
    if not isinstance(node, ast.Assign):
        return
    names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in node.targets]
    if any(name in CODE_PARAMS for name in names):
        for inner in ast.walk(node.value):
            if _is_code(inner):
                yield inner.value  # type: ignore[attr-defined]


def codes_in(
    source: str, known: dict[str, list[str]] | None = None
) -> Iterator[tuple[str, str | None]]:
    """(code, the error class it is raised with if known) for every code in `source`: a
    `code=`/`error_code=` keyword (a literal or a module constant), an assigned
    `default_code`/`error_code`, or a literal given positionally to a parameter named `code`
    (`_invalid(msg, "X")`, `guarded("X", ...)`) of a function of this module or `known`."""
    tree = ast.parse(source)
    signatures, constants = {**(known or {}), **_signatures(tree)}, _constants(tree)
    for node in ast.walk(tree):
        for code in _assigned_code(node):
            yield code, None
        if not isinstance(node, ast.Call):
            continue
        callee = node.func.id if isinstance(node.func, ast.Name) else None
        callee = callee or (node.func.attr if isinstance(node.func, ast.Attribute) else None)
        for keyword in node.keywords:
            if keyword.arg in CODE_PARAMS:
                value = keyword.value
                if isinstance(value, ast.Name) and value.id in constants:
                    yield constants[value.id], callee
                elif _is_code(value):
                    yield value.value, callee  # type: ignore[attr-defined]
        for name, arg in zip(signatures.get(callee or "", []), node.args, strict=False):
            if name not in CODE_PARAMS:
                continue
            if _is_code(arg):
                yield arg.value, None  # type: ignore[attr-defined]
            elif isinstance(arg, ast.Name) and arg.id in constants:
                yield constants[arg.id], None


def raised_codes() -> dict[str, set[str | None]]:
    sources = [path.read_text(encoding="utf-8") for path in (ROOT / "agentos").rglob("*.py")]
    known: dict[str, list[str]] = {}
    for source in sources:
        known.update(_signatures(ast.parse(source)))
    found: dict[str, set[str | None]] = {}
    for source in sources:
        for code, callee in codes_in(source, known):
            found.setdefault(code, set()).add(callee)
    return found


def test_every_code_raised_in_the_code_is_in_the_catalog() -> None:
    found = raised_codes()
    found.update({code: {None} for code in CODE_BY_HTTP_STATUS.values()})
    assert len(found) > 100  # the scan sees the code base
    missing = sorted(set(found) - set(CATALOG))
    assert missing == [], "add them to agentos/errors/catalog.py with their meaning"


def test_each_code_is_raised_with_a_kind_the_catalog_gives_it() -> None:
    wrong = []
    for code, callees in raised_codes().items():
        info = CATALOG.get(code)
        if info is None or info.kind is None:
            continue
        for callee in callees:
            kind = KIND_OF_CLASS.get(callee or "")
            if kind is not None and kind not in (info.kind, *info.also):
                wrong.append(f"{code}: raised as {callee}, catalog says {info.kind}")
    assert wrong == []


def test_the_scan_finds_every_way_a_code_is_given() -> None:
    source = """
MISSING = "CONST_CODE"
MISSING_TOO = "POSITIONAL_CONST"
def guarded(code, what): ...
def _invalid(message, code):
    return InvalidError(message, code=code)
class Refused(Exception):
    def __init__(self, status, code, message): ...
raise NotFoundError("x", code="KEYWORD_CODE")
raise _invalid("x", "POSITIONAL_CODE")
raise Refused(400, "CLASS_CODE", "x")
raise ConflictError("x", code=MISSING)
with guarded(MISSING_TOO, "cache"): ...
"""
    found = dict(codes_in(source))
    assert found == {
        "KEYWORD_CODE": "NotFoundError",
        "POSITIONAL_CODE": None,
        "CLASS_CODE": None,
        "CONST_CODE": "ConflictError",
        "POSITIONAL_CONST": None,
    }


def test_every_catalog_entry_has_a_meaning_status_and_exit_code() -> None:
    for row in catalog_rows():
        assert row["meaning"].strip(), row["code"]
        if row["kind"] is not None:
            assert row["http_status"], row["code"]
            assert row["exit_code"], row["code"]
            assert row["exit_code"][0] == EXIT_CODE_BY_KIND[row["kind"]]
    assert set(HTTP_STATUS_BY_KIND) == set(EXIT_CODE_BY_KIND)


def test_docs_errors_md_is_generated_from_the_catalog() -> None:
    written = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert written == errors_doc.render(), "run: agentos governance errors"
    for code in CATALOG:
        assert f"`{code}`" in written


def test_the_openapi_document_serves_the_catalog(project: Subject) -> None:
    assert project.spec["x-error-codes"] == catalog_rows()
    description = project.spec["info"]["description"]
    assert "x-error-codes" in description
    assert "| kind | HTTP | exit |" in description
