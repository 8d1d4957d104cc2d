"""Schema state: the live database compared with the models, and the migration revision."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DifferenceKind = Literal[
    "revision",
    "missing_table",
    "extra_table",
    "missing_column",
    "extra_column",
    "nullable",
    "primary_key",
    "missing_index",
    "extra_index",
    "index_changed",
    "missing_unique",
    "extra_unique",
    "unique_changed",
    "missing_foreign_key",
    "extra_foreign_key",
    "foreign_key_changed",
    "missing_trigger",
    "extra_trigger",
    "disabled_trigger",
    "missing_function",
    "extra_function",
]


class SchemaDifference(BaseModel):
    kind: DifferenceKind
    table: str | None = None
    name: str | None = None
    detail: str

    def describe(self) -> str:
        where = ".".join(part for part in (self.table, self.name) if part)
        return f"{self.kind} {where}: {self.detail}" if where else f"{self.kind}: {self.detail}"


class SchemaReport(BaseModel):
    dialect: str
    revision: str | None = Field(description="the database's migration revision (None: never)")
    head: str = Field(description="the newest migration shipped with this version")
    tables_checked: int
    differences: list[SchemaDifference] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


class MigrationResult(BaseModel):
    dialect: str
    before: str | None
    after: str | None
    head: str
    agents_created: int = Field(
        default=0, description="pipeline agents a fresh database was given, with defaults"
    )

    @property
    def changed(self) -> bool:
        return self.before != self.after
