"""SQL text -> FileLineage, statement by statement, never raising on bad input.

The pipeline for one file:

1. templates: Jinja markers, or (T-SQL) SSMS `<name, type, default>` parameters, make the file a
   template: one ERROR statement saying so, nothing parsed;
2. client-tool lines (`script`): GO, SQLCMD and SQL*Plus commands are recorded, not parsed, and
   cut the file into batches;
3. walking (`tsql` / `blocks`): each batch's tokens become pieces, one per statement, descending
   into procedure, function and trigger bodies, BEGIN ... END blocks, IF / loops and dynamic SQL;
4. parsing (`parse`) with the dialect fallback chain, then lineage per statement kind
   (`handlers`, `movement`, `commands`) and column lineage (`column_extract`).

One broken statement becomes an ERROR statement with its line and message while the rest of the
file still yields lineage. Statements are numbered in file order.
"""

from __future__ import annotations

import re
import time

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.teradata import Teradata

from ingest_pipeline.lineage import column_extract, commands, movement  # noqa: F401 - handlers register on import
from ingest_pipeline.lineage import script as client
from ingest_pipeline.lineage.blocks import BlockWalker
from ingest_pipeline.lineage.context import Context
from ingest_pipeline.lineage.handlers import lineage as expression_lineage
from ingest_pipeline.lineage.model import ColumnRef, FileLineage, StatementLineage, TableRef
from ingest_pipeline.lineage.parse import MAX_NESTING_DEPTH, MAX_STATEMENT_TOKENS, PARSE_ERRORS, error_line, message, parse_piece
from ingest_pipeline.lineage.phrases import blank_attribute_phrases
from ingest_pipeline.lineage.pieces import Batch, Piece
from ingest_pipeline.lineage.tsql import TsqlWalker
from ingest_pipeline.lineage.walker import Walker

__all__ = ["MAX_NESTING_DEPTH", "MAX_STATEMENT_TOKENS", "dialect_from_comment", "extract_lineage", "parse_only"]

_TEMPLATE_MARKERS = re.compile(r"\{\{|\{%|\{#")
_DIALECT_COMMENT = re.compile(r"^\s*--\s*dialect\s*:\s*([A-Za-z0-9_]+)", re.IGNORECASE)
# Kinds whose statements can write columns (column lineage is only computed for these).
_COLUMN_KINDS = frozenset({"SELECT_INTO", "INSERT", "CREATE_TABLE", "CREATE_VIEW", "MERGE", "UPDATE"})
# The pseudo tables of a T-SQL trigger body.
_PSEUDO_TABLES = frozenset({"inserted", "deleted"})
# Dynamic SQL inside dynamic SQL is followed this deep.
_MAX_DYNAMIC_DEPTH = 3


def dialect_from_comment(text: str) -> str | None:
    """The dialect named by a first-line `-- dialect: <name>` comment, if any."""
    first_line = text.split("\n", 1)[0]
    match = _DIALECT_COMMENT.match(first_line)
    return match.group(1).lower() if match else None


def extract_lineage(
    text: str,
    dialect: str,
    *,
    decode_errors: bool = False,
    time_budget_seconds: float | None = None,
    columns: bool = True,
) -> FileLineage:
    """Extract table (and, unless `columns=False`, column) lineage from one file's text.

    Never raises for any input text.
    """
    lineage = FileLineage(dialect=dialect, decode_errors=decode_errors)
    try:
        dialect_impl = Dialect.get_or_raise(dialect or None)
    except ValueError:
        lineage.statements.append(StatementLineage(0, "ERROR", 1, error=f"unknown SQL dialect {dialect!r}"))
        return lineage
    family = client.family(dialect_impl)
    template = _template(text, family)
    if template is not None:
        lineage.templated, line = template
        lineage.statements.append(StatementLineage(0, "ERROR", line, error=f"templated SQL: {lineage.templated}"))
        return lineage
    if isinstance(dialect_impl, Teradata):
        text = blank_attribute_phrases(text, dialect_impl)  # offsets kept: error lines stay right
    deadline = None if time_budget_seconds is None else time.monotonic() + time_budget_seconds
    context = Context(dialect_impl, (dialect or "").lower(), family, columns, deadline)
    script = client.client_script(text, family)
    statements = [StatementLineage(0, d.kind, d.line) for d in script.directives]
    walker = _walker(dialect_impl, family)
    for batch in script.batches:
        statements.extend(_batch_statements(context, walker, batch, time_budget_seconds))
    statements.sort(key=lambda s: s.line)
    for index, statement in enumerate(statements):
        statement.index = index
    lineage.statements = statements
    return lineage


def _template(text: str, family: str | None) -> tuple[str, int] | None:
    """(why the text is a template, the line) for Jinja markers and SSMS template parameters."""
    marker = _TEMPLATE_MARKERS.search(text)
    if marker:
        line = text.count("\n", 0, marker.start()) + 1
        return f"template syntax {marker.group(0)!r} at line {line}; render it before ingesting", line
    return client.template_parameter(text, family)


def _walker(dialect: Dialect, family: str | None) -> type[Walker]:
    return TsqlWalker if family == "tsql" else BlockWalker.for_dialect(dialect)


def _batch_statements(
    context: Context, walker: type[Walker], batch: client.Batch, budget: float | None
) -> list[StatementLineage]:
    try:
        tokens = context.tokenize(batch.text)
    except Exception as error:  # noqa: BLE001 - the tokenizer can fail on any malformed text
        stripped = batch.text.lstrip()
        first = batch.text.count("\n", 0, len(batch.text) - len(stripped)) + 1
        line = error_line(error, first) + batch.line_offset
        return [StatementLineage(0, "ERROR", line, error=message(error, batch.line_offset))]
    pieces = _walk(walker, Batch(tokens, batch.text, batch.line_offset, context.name_ref, context.tokenize))
    statements: list[StatementLineage] = []
    for piece in pieces:
        if context.out_of_time():
            statements.append(StatementLineage(0, "ERROR", piece.line, error=f"time budget of {budget}s exceeded"))
            continue
        statements.extend(_piece_statements(context, walker, piece, 0))
    return statements


def _walk(walker: type[Walker], batch: Batch) -> list[Piece]:
    """The batch's pieces; should a walker fail on input nobody foresaw, one piece per `;` chunk."""
    try:
        return walker(batch).walk()
    except Exception:  # noqa: BLE001 - the walker is best effort, the file must still be analysed
        fallback = BlockWalker(batch)
        index = 0
        while index < fallback.size:
            end = fallback.statement_end(index)
            fallback.emit(index, end)
            index = end + 1
        return fallback.pieces


def _piece_statements(context: Context, walker: type[Walker], piece: Piece, depth: int) -> list[StatementLineage]:
    line = piece.line
    if piece.error is not None:
        return [StatementLineage(0, "ERROR", line, error=piece.error, routine=piece.routine)]
    if piece.dynamic is not None and depth < _MAX_DYNAMIC_DEPTH:
        inner = _dynamic_statements(context, walker, piece, depth)
        if inner:
            return inner
    if piece.kind is not None and not piece.query:
        statement = StatementLineage(0, piece.kind, line, routine=piece.routine, defines_routine=piece.defines)
        if piece.call is not None:
            statement.calls = [piece.call]
        return [statement]
    statement = _parsed_statement(context, piece, line)
    statement.routine = piece.routine
    if piece.call is not None:
        statement.calls = [piece.call]
    if piece.trigger_table is not None:
        _trigger_rows(statement, piece.trigger_table)
    _mark_temporary(context, statement)
    return [statement]


def _trigger_rows(statement: StatementLineage, table: TableRef) -> None:
    """In a T-SQL trigger `inserted` / `deleted` are the rows of the trigger's table."""

    def real(ref: TableRef) -> TableRef:
        return table if not ref.db and not ref.catalog and ref.name in _PSEUDO_TABLES else ref

    statement.reads = sorted({real(ref) for ref in statement.reads})
    for edge in statement.columns:
        edge.sources = sorted({ColumnRef(real(s.table), s.column, s.excluded) for s in edge.sources})


def _parsed_statement(context: Context, piece: Piece, line: int) -> StatementLineage:
    if not piece.query and piece.tokens and piece.tokens[0].text.upper() == "BULK":
        statement = StatementLineage(0, "BULK_INSERT", line)
        if commands.bulk_insert(context, list(piece.tokens), statement):
            return statement
    parsed = parse_piece(context, piece)
    if parsed.expression is None:
        return StatementLineage(0, "ERROR", line, error=parsed.error)
    expression = parsed.expression
    context.new_statement()
    try:
        statement = expression_lineage(context, expression, line, piece.procedural)
    except PARSE_ERRORS as error:
        return StatementLineage(0, "ERROR", line, error=f"lineage extraction failed: {message(error)}")
    statement.parsed_as = parsed.parsed_as
    statement.column_error = parsed.partial
    if piece.kind is not None:
        # A procedural statement (IF condition, cursor, assignment ...) reads its query's tables.
        statement.kind, statement.writes, statement.views = piece.kind, [], []
    analysed = not isinstance(expression, exp.Command) and not parsed.partial and not piece.insert_exec
    if context.columns and statement.kind in _COLUMN_KINDS and analysed:
        _add_columns(context, expression, statement)
    return statement


def _dynamic_statements(context: Context, walker: type[Walker], piece: Piece, depth: int) -> list[StatementLineage]:
    """The statements of a dynamic SQL literal, each on its own line inside the literal."""
    try:
        tokens = context.tokenize(piece.dynamic or "")
    except Exception:  # noqa: BLE001 - an untokenizable literal stays a dynamic statement
        return []
    batch = Batch(tokens, piece.dynamic or "", piece.dynamic_offset, context.name_ref, context.tokenize)
    inner = walker(batch, routine=piece.routine, procedural=piece.procedural, depth=depth + 1)
    try:
        pieces = inner.walk()
    except Exception:  # noqa: BLE001 - best effort, as for any batch
        return []
    statements: list[StatementLineage] = []
    for inner_piece in pieces:
        statements.extend(_piece_statements(context, walker, inner_piece, depth + 1))
    return statements


def _mark_temporary(context: Context, statement: StatementLineage) -> None:
    """Which of the statement's tables are temporary: `#t` / `##t`, table variables `@t`, and
    tables this file created as temporary before (or in) this statement."""
    temporary = context.temporary
    found = {
        ref
        for ref in (*statement.reads, *statement.writes)
        if ref in temporary or ref.name[:1] in ("#", "@")
    }
    statement.temporary = sorted(found)


def _add_columns(context: Context, expression: exp.Expression, statement: StatementLineage) -> None:
    """Column lineage for a parsed statement; any failure is recorded, never raised."""
    try:
        columns, defined, positional = column_extract.statement_columns(context.names, expression, statement)
    except Exception as error:  # noqa: BLE001 - column lineage is best effort by contract
        statement.column_error = f"column lineage failed: {message(error)}"
        return
    statement.columns = columns
    statement.defined_columns = defined
    statement.positional = positional


def parse_only(text: str, dialect: str) -> int:
    """Bare sqlglot parsing of a file, the floor that benchmarks compare extraction with."""
    try:
        return len(sqlglot.parse(text, read=dialect or None))
    except Exception:  # noqa: BLE001 - benchmarks count failures, they do not stop on them
        return 0
