"""Helpers shared by the table-driven lineage tests: compact expected statements and projections."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ingest_pipeline.lineage.model import StatementLineage, TableRef


def names(text: str | tuple[str, ...]) -> tuple[str, ...]:
    """Space-separated names, or a tuple of names that contain spaces."""
    if isinstance(text, tuple):
        return tuple(sorted(text))
    return tuple(sorted(text.split())) if text else ()


@dataclass(frozen=True)
class S:
    """One expected statement: its line, kind, read and written tables (space-separated fqns),
    the routine it belongs to, the routines it calls and the locations it reads / writes."""

    line: int
    kind: str
    reads: str | tuple[str, ...] = ""
    writes: str | tuple[str, ...] = ""
    routine: str | None = None
    calls: str = ""
    location_reads: str = ""
    location_writes: str = ""
    defines: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def expected(self) -> tuple:
        return (
            self.line, self.kind, names(self.reads), names(self.writes), self.routine, names(self.calls),
            names(self.location_reads), names(self.location_writes), self.defines,
        )  # fmt: skip


def actual(statement: StatementLineage) -> tuple:
    def fqns(refs: list[TableRef]) -> tuple[str, ...]:
        return tuple(sorted(ref.fqn for ref in refs))

    return (
        statement.line, statement.kind, fqns(statement.reads), fqns(statement.writes),
        statement.routine.fqn if statement.routine else None, fqns(statement.calls),
        tuple(statement.location_reads), tuple(statement.location_writes),
        statement.defines_routine.fqn if statement.defines_routine else None,
    )  # fmt: skip


def params(rows: list[tuple]) -> list:
    """(id, dialect, ...) rows as pytest params with readable ids."""
    return [pytest.param(*row[1:], id=f"{row[1] or 'default'}-{row[0]}") for row in rows]


def assert_well_formed(statements: list[StatementLineage]) -> None:
    """What holds for every statement list: numbered in order, lines ascending, sorted refs."""
    assert [s.index for s in statements] == list(range(len(statements)))
    assert [s.line for s in statements] == sorted(s.line for s in statements)
    for statement in statements:
        assert statement.reads == sorted(statement.reads) and statement.writes == sorted(statement.writes)
        assert (statement.kind in ("ERROR", "COMMAND")) == (statement.error is not None), (statement.kind, statement.error)
