"""Which error codes an operation can raise: a static walk from its endpoint and its
dependencies through the AgentOS functions they call.

For each function: the `code="..."` given to any call (an error raised, or built to be
raised), the default code of an `AgentOSError` class raised without one, and the functions
it calls or passes on (`run_in_threadpool(uploads.put_chunk, ...)`), followed when they
resolve (through the function's globals) to a function of an `agentos` module. Methods
called on objects are not followed, so the answer can miss codes; an action route adds the
handlers of the actions it runs (see `rules_errors`).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from agentos.errors import AgentOSError

MAX_DEPTH = 12
_memo: dict[tuple[Any, frozenset[Any]], frozenset[str]] = {}
# Per function: its local names bound to an instance of an AgentOS class (`run = _Run(...)`).
_local_classes: dict[Any, dict[str, type]] = {}


def codes_of(
    roots: Iterable[Callable[..., Any]], *, skip: Iterable[Callable[..., Any]] = ()
) -> set[str]:
    """The codes reachable from `roots`, not walking into the functions in `skip`."""
    skipped = frozenset(skip)
    found: set[str] = set()
    for root in roots:
        found |= _walk(root, depth=0, seen=set(skipped), skip=skipped)
    return found


def _walk(func: Any, *, depth: int, seen: set[Any], skip: frozenset[Any]) -> frozenset[str]:
    func = inspect.unwrap(func) if callable(func) else func
    if (func, skip) in _memo:
        return _memo[func, skip]
    if depth > MAX_DEPTH or func in seen or not _is_ours(func):
        return frozenset()
    seen.add(func)
    tree = _parse(func)
    if tree is None:
        return frozenset()
    _local_classes[func] = _constructed(tree, func)
    codes = set(_direct_codes(tree, func))
    for callee in _callees(tree, func):
        codes |= _walk(callee, depth=depth + 1, seen=seen, skip=skip)
    result = frozenset(codes)
    _memo[func, skip] = result  # within a cycle this may miss a code; good enough
    return result


def _is_ours(func: Any) -> bool:
    return isinstance(func, types.FunctionType) and func.__module__.startswith("agentos.")


def _parse(func: types.FunctionType) -> ast.AST | None:
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return None
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _resolve(node: ast.expr, func: types.FunctionType) -> Any:
    """The object a name or dotted name stands for in `func`'s module, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    owner: Any = None
    if node.id in ("self", "cls"):
        owner = func.__globals__.get(func.__qualname__.split(".")[0])
    owner = owner or _local_classes.get(func, {}).get(node.id)
    if isinstance(owner, type) and len(parts) == 1:
        return getattr(owner, parts[0], None)
    scope = dict(func.__globals__)
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__, strict=False):
            try:
                scope[name] = cell.cell_contents
            except ValueError:
                continue
    value = scope.get(node.id)
    for attr in reversed(parts):
        value = getattr(value, attr, None)
        if value is None:
            return None
    return value


def _nodes(tree: ast.AST, func: types.FunctionType) -> Iterator[ast.AST]:
    """Every node, except the bodies of `try` blocks whose handler swallows AgentOS errors
    (catches them, or a base of theirs, and raises nothing)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.Try) and any(_swallows(h, func) for h in node.handlers):
            stack.extend([*node.handlers, *node.orelse, *node.finalbody])
            continue
        stack.extend(ast.iter_child_nodes(node))


def _swallows(handler: ast.ExceptHandler, func: types.FunctionType) -> bool:
    for node in ast.walk(handler):
        if isinstance(node, ast.Raise):
            return False
        passes_on = isinstance(node, ast.Call) and any(
            isinstance(arg, ast.Name) and arg.id == handler.name for arg in node.args
        )
        if passes_on:  # `self.refuse(error, ...)`: handed to something that raises it
            return False
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for name in names:
        caught = _resolve(name, func) if name is not None else BaseException
        if isinstance(caught, type) and issubclass(AgentOSError, caught):
            return True
    return False


def _constructed(tree: ast.AST, func: types.FunctionType) -> dict[str, type]:
    found: dict[str, type] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            cls = _resolve(node.value.func, func)
            if isinstance(cls, type) and cls.__module__.startswith("agentos."):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = cls
    return found


def _direct_codes(tree: ast.AST, func: types.FunctionType) -> Iterator[str]:
    for node in _nodes(tree, func):
        if not isinstance(node, ast.Call):
            continue
        given = [kw for kw in node.keywords if kw.arg == "code"]
        for keyword in given:
            if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                yield keyword.value.value
        target = _resolve(node.func, func)
        if not given and isinstance(target, type) and issubclass(target, AgentOSError):
            yield target.default_code
        yield from _positional_codes(node, target)


def _positional_codes(node: ast.Call, target: Any) -> Iterator[str]:
    """`_invalid("...", "CONFIRMATION_REQUIRED")`: a constant given to a `code` parameter."""
    if not _is_ours(target):
        return
    names = target.__code__.co_varnames[: target.__code__.co_argcount]
    for name, arg in zip(names, node.args, strict=False):
        if name == "code" and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            yield arg.value


def _callees(tree: ast.AST, func: types.FunctionType) -> Iterator[Any]:
    for node in _nodes(tree, func):
        if isinstance(node, ast.Call):
            candidates = [node.func, *node.args, *(kw.value for kw in node.keywords)]
            for candidate in candidates:
                if isinstance(candidate, ast.Name | ast.Attribute):
                    target = _resolve(candidate, func)
                    if _is_ours(target):
                        yield target
