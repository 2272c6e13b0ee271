"""SQL text -> FileLineage, statement by statement, never raising on bad input.

The file is tokenised once and split at top-level semicolons, and each statement is parsed on its
own: one broken statement becomes an ERROR statement with its line and message while the rest of
the file still yields lineage. Statements that are too deeply nested for the compiled parser's
native stack are refused before parsing instead of risking a segfault.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

from ingest_pipeline.lineage.model import FileLineage, StatementLineage, TableRef

# Parenthesis nesting beyond this is refused: sqlglotc recurses on the C stack per level.
MAX_NESTING_DEPTH = 200
# Statements with more tokens than this are recorded as errors instead of parsed.
MAX_STATEMENT_TOKENS = 500_000

_TEMPLATE_MARKERS = re.compile(r"\{\{|\{%|\{#")
_DIALECT_COMMENT = re.compile(r"^\s*--\s*dialect\s*:\s*([A-Za-z0-9_]+)", re.IGNORECASE)

_QUERY_TYPES = (exp.Select, exp.SetOperation, exp.Subquery, exp.Values)
# Statement kinds that move rows between tables; others (GRANT, DROP, ...) get no READS edges.
_LINEAGE_KINDS = frozenset(
    {"SELECT", "SELECT_INTO", "INSERT", "CREATE_TABLE", "CREATE_VIEW", "MERGE", "UPDATE", "DELETE", "TRUNCATE"}
)
_TOKEN_REPR = re.compile(r"<Token token_type: [^,]+, text: (.*?), line: \d+.*?>")


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
) -> FileLineage:
    """Extract table lineage from one file's text. Never raises for any input text."""
    lineage = FileLineage(dialect=dialect, decode_errors=decode_errors)
    try:
        dialect_impl = Dialect.get_or_raise(dialect or None)
    except ValueError:
        lineage.statements.append(StatementLineage(0, "ERROR", 1, error=f"unknown SQL dialect {dialect!r}"))
        return lineage
    template = _TEMPLATE_MARKERS.search(text)
    if template:
        line = text.count("\n", 0, template.start()) + 1
        lineage.templated = f"template syntax {template.group(0)!r} at line {line}; render it before ingesting"
        lineage.statements.append(
            StatementLineage(index=0, kind="ERROR", line=line, error=f"templated SQL: {lineage.templated}")
        )
        return lineage
    try:
        tokens = dialect_impl.tokenize(text)
    except Exception as error:  # noqa: BLE001 - the tokenizer can fail on any malformed text
        lineage.statements.append(
            StatementLineage(index=0, kind="ERROR", line=_error_line(error), error=_message(error))
        )
        return lineage

    deadline = None if time_budget_seconds is None else time.monotonic() + time_budget_seconds
    for index, chunk in enumerate(_split_statements(tokens)):
        line = chunk[0].line
        if deadline is not None and time.monotonic() > deadline:
            lineage.statements.append(
                StatementLineage(index, "ERROR", line, error=f"time budget of {time_budget_seconds}s exceeded")
            )
            continue
        lineage.statements.append(_statement_lineage(dialect_impl, text, chunk, index, line))
    return lineage


def _split_statements(tokens: list[Token]) -> Iterator[list[Token]]:
    """Split a token stream at semicolons; empty statements are dropped."""
    chunk: list[Token] = []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if chunk:
                yield chunk
            chunk = []
        else:
            chunk.append(token)
    if chunk:
        yield chunk


def _statement_lineage(
    dialect: Dialect, text: str, tokens: list[Token], index: int, line: int
) -> StatementLineage:
    refusal = _refuse_reason(tokens)
    if refusal:
        return StatementLineage(index, "ERROR", line, error=refusal)
    try:
        parsed = dialect.parser().parse(tokens, text)
    except (SqlglotError, RecursionError, ValueError, TypeError, AttributeError, KeyError) as error:
        return StatementLineage(index, "ERROR", line, error=_message(error))
    expression = next((e for e in parsed if e is not None), None)
    if expression is None:
        return StatementLineage(index, "ERROR", line, error="statement could not be parsed")
    try:
        return _lineage_of(dialect, expression, index, line)
    except (SqlglotError, RecursionError, ValueError, TypeError, AttributeError, KeyError) as error:
        return StatementLineage(index, "ERROR", line, error=f"lineage extraction failed: {_message(error)}")


def _refuse_reason(tokens: list[Token]) -> str | None:
    if len(tokens) > MAX_STATEMENT_TOKENS:
        return f"statement has {len(tokens)} tokens, more than the limit of {MAX_STATEMENT_TOKENS}"
    depth = deepest = 0
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            deepest = max(deepest, depth)
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
    if deepest > MAX_NESTING_DEPTH:
        return f"nesting depth {deepest} exceeds the limit of {MAX_NESTING_DEPTH}"
    return None


def _error_line(error: Exception, default: int = 1) -> int:
    errors = getattr(error, "errors", None)
    if errors and isinstance(errors[0], dict) and errors[0].get("line"):
        return int(errors[0]["line"])
    return default


def _message(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if errors and isinstance(errors[0], dict) and errors[0].get("description"):
        first = errors[0]
        description = _TOKEN_REPR.sub(lambda m: repr(m.group(1)), first["description"])
        return f"{description} (line {first.get('line')}, col {first.get('col')})"
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:500]


def _lineage_of(dialect: Dialect, expression: exp.Expression, index: int, line: int) -> StatementLineage:
    kind, targets, views = _classify(expression)
    statement = StatementLineage(index, kind, line)
    if kind == "COMMAND":
        statement.error = f"not analysed: sqlglot parses this statement only as a generic command ({_command_name(expression)})"
        return statement
    if isinstance(expression, exp.Alter):
        rename = next((a for a in expression.args.get("actions") or () if isinstance(a, exp.AlterRename)), None)
        if rename is not None and isinstance(rename.this, exp.Table):
            old = _table_ref(dialect, expression.this) if isinstance(expression.this, exp.Table) else None
            new = _table_ref(dialect, rename.this, default_from=expression.this)
            statement.kind = "ALTER_RENAME"
            statement.renamed_from = old
            statement.writes = [new] if new else []
            return statement
    if kind not in _LINEAGE_KINDS:
        return statement
    target_ids = {id(t) for t in targets}
    writes = {ref for ref in (_table_ref(dialect, t) for t in targets) if ref}
    reads: set[TableRef] = set()
    for table in expression.find_all(exp.Table):
        if id(table) in target_ids or _is_cte_reference(table):
            continue
        ref = _table_ref(dialect, table)
        if ref:
            reads.add(ref)
    statement.writes = sorted(writes)
    statement.reads = sorted(reads)
    statement.views = sorted(ref for ref in (_table_ref(dialect, t) for t in views) if ref)
    return statement


def _classify(expression: exp.Expression) -> tuple[str, list[exp.Table], list[exp.Table]]:
    """The statement kind, the Table nodes it writes, and those of them it defines as views."""
    if isinstance(expression, exp.Select) and isinstance(expression.args.get("into"), exp.Into):
        return "SELECT_INTO", _tables_of(expression.args["into"].this), []
    if isinstance(expression, _QUERY_TYPES):
        return "SELECT", [], []
    if isinstance(expression, exp.Insert):
        return "INSERT", _tables_of(expression.this), []
    if isinstance(expression, exp.Create):
        created = _tables_of(expression.this)
        kind = (expression.args.get("kind") or "").upper()
        if kind == "VIEW":
            return "CREATE_VIEW", created, created
        if kind == "TABLE":
            return "CREATE_TABLE", created, []
        return f"CREATE_{kind or 'OTHER'}", [], []
    if isinstance(expression, exp.Merge):
        return "MERGE", _tables_of(expression.this), []
    if isinstance(expression, exp.Update):
        return "UPDATE", _tables_of(expression.this), []
    if isinstance(expression, exp.Delete):
        return "DELETE", _tables_of(expression.this), []
    if isinstance(expression, exp.TruncateTable):
        return "TRUNCATE", [t for t in expression.expressions if isinstance(t, exp.Table)], []
    if isinstance(expression, exp.Drop):
        kind = (expression.args.get("kind") or "").upper()
        return f"DROP_{kind}" if kind else "DROP", [], []
    if isinstance(expression, exp.Alter):
        return "ALTER", _tables_of(expression.this), []
    if isinstance(expression, exp.Command):
        return "COMMAND", [], []
    return type(expression).__name__.upper(), [], []


def _tables_of(node: exp.Expression | None) -> list[exp.Table]:
    if isinstance(node, exp.Schema):
        node = node.this
    return [node] if isinstance(node, exp.Table) else []


def _command_name(expression: exp.Expression) -> str:
    return str(expression.this or "unknown").upper()[:40]


def _table_ref(dialect: Dialect, table: exp.Table, default_from: exp.Table | None = None) -> TableRef | None:
    """Normalised reference for a real table; None for table functions and the like."""
    if not isinstance(table.this, exp.Identifier):
        return None
    parts = []
    for key in ("catalog", "db", "this"):
        ident = table.args.get(key)
        if ident is None and default_from is not None and key != "this":
            ident = default_from.args.get(key)
        if isinstance(ident, exp.Identifier):
            parts.append(_normalise(dialect, ident))
        elif ident is not None:
            parts.append(ident.name)
        else:
            parts.append("")
    if not parts[2]:
        return None
    return TableRef(*parts)


def _normalise(dialect: Dialect, ident: exp.Identifier) -> str:
    fresh = exp.Identifier(this=ident.this, quoted=ident.args.get("quoted", False))
    return dialect.normalize_identifier(fresh).name


def _is_cte_reference(table: exp.Table) -> bool:
    """True when an unqualified table name refers to a CTE visible at its position."""
    if table.args.get("db") or table.args.get("catalog"):
        return False
    name = table.name.lower()
    child: exp.Expression = table
    parent = table.parent
    while parent is not None:
        with_ = parent.args.get("with_")
        if isinstance(with_, exp.With) and child is not with_:
            if any(cte.alias_or_name.lower() == name for cte in with_.expressions):
                return True
        if isinstance(parent, exp.With):
            recursive = bool(parent.args.get("recursive"))
            ctes = parent.expressions
            position = next((i for i, cte in enumerate(ctes) if cte is child), None)
            if position is not None:
                visible = ctes[: position + 1] if recursive else ctes[:position]
                if any(cte.alias_or_name.lower() == name for cte in visible):
                    return True
        child, parent = parent, parent.parent
    return False


def parse_only(text: str, dialect: str) -> int:
    """Bare sqlglot parsing of a file, the floor that benchmarks compare extraction with."""
    try:
        return len(sqlglot.parse(text, read=dialect or None))
    except Exception:  # noqa: BLE001 - benchmarks count failures, they do not stop on them
        return 0
