"""`db check`: the live database compared with the models, through SQLAlchemy's inspector.

Dialect quirks are normalised before comparing, so a healthy database reports nothing:
a unique constraint and a unique index are the same thing here (PostgreSQL lists the
index behind every unique constraint, SQLite may report either), referential actions are
compared case-insensitively with NO ACTION meaning "none", and Alembic's own table is
not part of the model.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

from sqlalchemy import (
    Column,
    Dialect,
    Engine,
    ForeignKeyConstraint,
    Index,
    Table,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.engine import Inspector
from sqlalchemy.exc import SAWarning

from agentos.db import (
    models,  # noqa: F401  (registers every table)
    programs,
)
from agentos.db.base import Base
from agentos.db.migrate import VERSION_TABLE, current_revision, head_revision
from agentos.schemas.db import DifferenceKind, SchemaDifference, SchemaReport

Columns = tuple[str, ...]
ForeignKeyShape = tuple[Columns, str, Columns, str | None, str | None]


def compare(engine: Engine) -> SchemaReport:
    """Every difference between the database behind `engine` and the models."""
    revision = current_revision(engine)
    head = head_revision()
    differences: list[SchemaDifference] = []
    if revision != head:
        differences.append(
            _diff("revision", None, None, f"database at {revision or 'no revision'}, head {head}")
        )
    inspector = inspect(engine)
    live_tables = set(inspector.get_table_names()) - {VERSION_TABLE}
    model_tables = Base.metadata.tables
    for name in sorted(set(model_tables) - live_tables):
        differences.append(_diff("missing_table", name, None, "table does not exist"))
    for name in sorted(live_tables - set(model_tables)):
        differences.append(_diff("extra_table", name, None, "table is not in the models"))
    for name in sorted(live_tables & set(model_tables)):
        differences.extend(_compare_table(inspector, model_tables[name]))
    differences.extend(_compare_programs(engine))
    return SchemaReport(
        dialect=engine.dialect.name,
        revision=revision,
        head=head,
        tables_checked=len(model_tables),
        differences=differences,
    )


def _diff(
    kind: DifferenceKind, table: str | None, name: str | None, detail: str
) -> SchemaDifference:
    return SchemaDifference(kind=kind, table=table, name=name, detail=detail)


def _compare_table(inspector: Inspector, table: Table) -> list[SchemaDifference]:
    return [
        *_compare_columns(inspector, table),
        *_compare_primary_key(inspector, table),
        *_compare_indexes(inspector, table),
        *_compare_uniques(inspector, table),
        *_compare_foreign_keys(inspector, table),
    ]


def _compare_columns(inspector: Inspector, table: Table) -> list[SchemaDifference]:
    with warnings.catch_warnings():  # a type SQLAlchemy has no class for (xid8): not compared
        warnings.filterwarnings("ignore", "Did not recognize type", SAWarning)
        live = {column["name"]: column for column in inspector.get_columns(table.name)}
    result: list[SchemaDifference] = []
    for column in table.columns:
        found = live.get(column.name)
        if found is None:
            result.append(_diff("missing_column", table.name, column.name, "column does not exist"))
        elif bool(found["nullable"]) != bool(column.nullable):
            expected = "NULL" if column.nullable else "NOT NULL"
            actual = "NULL" if found["nullable"] else "NOT NULL"
            result.append(
                _diff("nullable", table.name, column.name, f"is {actual}, models say {expected}")
            )
    for name in sorted(set(live) - set(table.columns.keys())):
        result.append(_diff("extra_column", table.name, name, "column is not in the models"))
    return result


def _compare_primary_key(inspector: Inspector, table: Table) -> list[SchemaDifference]:
    expected = tuple(column.name for column in table.primary_key.columns)
    actual = tuple(inspector.get_pk_constraint(table.name).get("constrained_columns") or ())
    if expected == actual:
        return []
    return [
        _diff(
            "primary_key",
            table.name,
            table.primary_key.name if isinstance(table.primary_key.name, str) else None,
            f"primary key is ({', '.join(actual)}), models say ({', '.join(expected)})",
        )
    ]


_CAST = re.compile(r"::[a-z_]+( varying| precision| with(out)? time zone)?")


def _part(text: str) -> str:
    """An index part as both sides spell it: no PostgreSQL casts (nor quotes around a number),
    no direction (SQLite does not reflect it), no quotes, parentheses or spaces."""
    text = re.sub(r"\s+(asc|desc)$", "", _CAST.sub("", text.lower()).strip())
    return re.sub(r'[\s()"]', "", re.sub(r"'(-?[0-9.]+)'", r"\1", text))


def _index_columns(entry: dict[str, Any]) -> Columns:
    names = entry.get("column_names") or []
    expressions = entry.get("expressions") or []
    return tuple(
        _part(str(name if name is not None else expressions[position]))
        for position, name in enumerate(names)
    )


def _model_part(element: Any, dialect: Dialect) -> str:
    options = {"literal_binds": True, "include_table": False}
    text = (
        element.name
        if isinstance(element, Column)
        else element.compile(dialect=dialect, compile_kwargs=options)
    )
    return _part(str(text))


def _sqlite_expression_indexes(inspector: Inspector, table: str) -> dict[str, Columns]:
    """SQLAlchemy skips SQLite's indexes on expressions: read their CREATE INDEX instead."""
    query = text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t")
    bind = inspector.bind
    with bind.connect() if isinstance(bind, Engine) else nullcontext(bind) as connection:
        rows = [row for row in connection.execute(query, {"t": table}) if row.sql]
    result: dict[str, Columns] = {}
    for name, sql in rows:  # "... ON t (a, lower(b), c) WHERE ...": the parts listed
        head = sql.split(" WHERE ")[0]
        listed = head[head.index("(") + 1 : head.rindex(")")]
        result[name] = tuple(_part(part) for part in re.split(r",(?![^(]*\))", listed))
    return result


def _model_indexes(table: Table, dialect: Dialect) -> tuple[dict[str, Columns], dict[str, Columns]]:
    """(plain indexes, unique indexes and constraints) by name, for `dialect` (an index
    declared for one dialect only, `ddl_if`, is not expected elsewhere)."""
    plain: dict[str, Columns] = {}
    unique: dict[str, Columns] = {}
    for index in table.indexes:
        only = getattr(getattr(index, "_ddl_if", None), "dialect", None)
        if only is not None and only != dialect.name:
            continue
        target = unique if index.unique else plain
        target[_name(index)] = tuple(_model_part(e, dialect) for e in index.expressions)
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            unique[_name(constraint)] = tuple(column.name for column in constraint.columns)
    return plain, unique


def _live_indexes(
    inspector: Inspector, table: str
) -> tuple[dict[str, Columns], dict[str, Columns]]:
    plain: dict[str, Columns] = {}
    unique: dict[str, Columns] = {}
    with warnings.catch_warnings():  # SQLite's indexes on expressions are read below
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        constraints, indexes = inspector.get_unique_constraints(table), inspector.get_indexes(table)
    for entry in constraints:
        columns = tuple(entry["column_names"])
        unique[entry.get("name") or _unnamed(columns)] = columns
    for index in indexes:
        columns = _index_columns(dict(index))
        name = index.get("name") or _unnamed(columns)
        if index.get("unique"):
            # PostgreSQL lists a unique constraint's index too ("duplicates_constraint").
            unique.setdefault(name, columns)
        else:
            plain[name] = columns
    if inspector.dialect.name == "sqlite":
        for name, columns in _sqlite_expression_indexes(inspector, table).items():
            if name not in unique:
                plain.setdefault(name, columns)
    return plain, unique


def _compare_indexes(inspector: Inspector, table: Table) -> list[SchemaDifference]:
    expected, _ = _model_indexes(table, inspector.dialect)
    actual, _ = _live_indexes(inspector, table.name)
    return _compare_named(table.name, expected, actual, "index")


def _compare_uniques(inspector: Inspector, table: Table) -> list[SchemaDifference]:
    _, expected = _model_indexes(table, inspector.dialect)
    _, actual = _live_indexes(inspector, table.name)
    # SQLite may reflect an unnamed unique constraint; match those by their columns.
    by_columns = {columns: name for name, columns in expected.items()}
    for name in [name for name in actual if name.startswith("(unnamed")]:
        columns = actual.pop(name)
        actual[by_columns.get(columns, name)] = columns
    return _compare_named(table.name, expected, actual, "unique")


def _compare_named(
    table: str, expected: dict[str, Columns], actual: dict[str, Columns], what: str
) -> list[SchemaDifference]:
    result: list[SchemaDifference] = []
    for name, columns in sorted(expected.items()):
        found = actual.get(name)
        if found is None:
            result.append(
                _diff(_kind("missing", what), table, name, f"{what} on {_cols(columns)} missing")
            )
        elif found != columns:
            result.append(
                _diff(
                    _kind("changed", what),
                    table,
                    name,
                    f"{what} is on {_cols(found)}, models say {_cols(columns)}",
                )
            )
    for name in sorted(set(actual) - set(expected)):
        result.append(
            _diff(
                _kind("extra", what),
                table,
                name,
                f"{what} on {_cols(actual[name])} is not in the models",
            )
        )
    return result


def _kind(change: str, what: str) -> DifferenceKind:
    kinds: dict[tuple[str, str], DifferenceKind] = {
        ("missing", "index"): "missing_index",
        ("extra", "index"): "extra_index",
        ("changed", "index"): "index_changed",
        ("missing", "unique"): "missing_unique",
        ("extra", "unique"): "extra_unique",
        ("changed", "unique"): "unique_changed",
    }
    return kinds[(change, what)]


def _action(value: str | None) -> str | None:
    if value is None or value.upper() == "NO ACTION":
        return None
    return value.upper()


def _model_foreign_keys(table: Table) -> dict[Columns, tuple[str, ForeignKeyShape]]:
    result: dict[Columns, tuple[str, ForeignKeyShape]] = {}
    for constraint in table.constraints:
        if not isinstance(constraint, ForeignKeyConstraint):
            continue
        columns = tuple(constraint.column_keys)
        referred = tuple(element.column.name for element in constraint.elements)
        shape = (
            columns,
            constraint.referred_table.name,
            referred,
            _action(constraint.ondelete),
            _action(constraint.onupdate),
        )
        result[columns] = (_name(constraint), shape)
    return result


def _live_foreign_keys(
    inspector: Inspector, table: str
) -> dict[Columns, tuple[str, ForeignKeyShape]]:
    result: dict[Columns, tuple[str, ForeignKeyShape]] = {}
    for entry in inspector.get_foreign_keys(table):
        columns = tuple(entry["constrained_columns"])
        options = entry.get("options") or {}
        shape = (
            columns,
            entry["referred_table"],
            tuple(entry["referred_columns"]),
            _action(options.get("ondelete")),
            _action(options.get("onupdate")),
        )
        result[columns] = (entry.get("name") or _unnamed(columns), shape)
    return result


def _compare_foreign_keys(inspector: Inspector, table: Table) -> list[SchemaDifference]:
    # Keyed by the constrained columns: SQLite does not always keep constraint names.
    expected = _model_foreign_keys(table)
    actual = _live_foreign_keys(inspector, table.name)
    result: list[SchemaDifference] = []
    for columns, (name, shape) in sorted(expected.items()):
        found = actual.get(columns)
        if found is None:
            result.append(_diff("missing_foreign_key", table.name, name, f"{_fk(shape)} missing"))
        elif found[1] != shape:
            result.append(
                _diff(
                    "foreign_key_changed",
                    table.name,
                    name,
                    f"is {_fk(found[1])}, models say {_fk(shape)}",
                )
            )
    for columns in sorted(set(actual) - set(expected)):
        name, shape = actual[columns]
        result.append(
            _diff("extra_foreign_key", table.name, name, f"{_fk(shape)} is not in the models")
        )
    return result


def _name(item: Index | UniqueConstraint | ForeignKeyConstraint) -> str:
    return str(item.name)


def _unnamed(columns: Iterable[str]) -> str:
    return f"(unnamed on {', '.join(columns)})"


def _cols(columns: Columns) -> str:
    return f"({', '.join(columns)})"


def _fk(shape: ForeignKeyShape) -> str:
    columns, referred_table, referred, ondelete, onupdate = shape
    text = f"{_cols(columns)} -> {referred_table}{_cols(referred)}"
    if ondelete:
        text += f" ON DELETE {ondelete}"
    if onupdate:
        text += f" ON UPDATE {onupdate}"
    return text


_PG_TRIGGERS = text(
    "SELECT t.tgname, c.relname, t.tgenabled FROM pg_trigger t "
    "JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
)
# Functions of the schema, not those an extension (pgcrypto) brings along.
_PG_FUNCTIONS = text(
    "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace "
    "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
)
_SQLITE_TRIGGERS = text("SELECT name, tbl_name, 'O' FROM sqlite_master WHERE type = 'trigger'")


def _compare_programs(engine: Engine) -> list[SchemaDifference]:
    """Triggers (present, on their table, enabled) and functions, as the migrations made them."""
    dialect = engine.dialect.name
    expected = programs.TRIGGERS.get(dialect, {})
    with engine.connect() as connection:
        query = _PG_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS
        live = {str(row[0]): (str(row[1]), str(row[2])) for row in connection.execute(query)}
        functions = (
            {str(row[0]) for row in connection.execute(_PG_FUNCTIONS)}
            if dialect == "postgresql"
            else set()
        )
    found: list[SchemaDifference] = []
    for name, table in sorted(expected.items()):
        if name not in live or live[name][0] != table:
            found.append(_diff("missing_trigger", table, name, "trigger does not exist"))
        elif live[name][1] == "D":
            found.append(_diff("disabled_trigger", table, name, "trigger is disabled"))
    for name in sorted(set(live) - set(expected)):
        found.append(_diff("extra_trigger", live[name][0], name, "trigger is not in the schema"))
    wanted = programs.FUNCTIONS.get(dialect, frozenset())
    for name in sorted(wanted - functions):
        found.append(_diff("missing_function", None, name, "function does not exist"))
    for name in sorted(functions - wanted):
        found.append(_diff("extra_function", None, name, "function is not in the schema"))
    return found
