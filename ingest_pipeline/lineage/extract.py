"""SQL text -> FileLineage, statement by statement, never raising on bad input.

The file is tokenised once and split at top-level semicolons, and each statement is parsed on its
own: one broken statement becomes an ERROR statement with its line and message while the rest of
the file still yields lineage. Statements that are too deeply nested for the compiled parser's
native stack are refused before parsing instead of risking a segfault.

Table lineage is decided per Table node of the parsed statement:

* targets are the tables a statement writes: the INSERT / UPDATE / DELETE / MERGE target wherever
  such a statement sits (data-modifying CTEs and multi-table inserts included), the created or
  altered table, the SELECT INTO / COPY FROM target. An UPDATE / DELETE target named by an alias
  (`UPDATE a ... FROM t AS a`, `DELETE a FROM t AS a`) or repeated in its own FROM clause is the
  aliased table, and that FROM instance is the target, not a read;
* every other real table is read, except CTE references (CTE names compared after the dialect's
  normalisation, all CTEs of a RECURSIVE list in scope), the definition-only sources of
  `CREATE TABLE ... LIKE` and foreign-key `REFERENCES`, and tables of DDL other than CREATE
  (an ALTER reads only from a query it embeds, e.g. `ALTER VIEW v AS SELECT ...`).

Column lineage (`columns=True`) is computed by `lineage.column_extract` on the same tree; a failure
there is recorded in `column_error` and never affects the table lineage.
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

from ingest_pipeline.lineage import column_extract
from ingest_pipeline.lineage.model import FileLineage, StatementLineage, TableRef
from ingest_pipeline.lineage.names import Names, table_ref

# Parenthesis nesting beyond this is refused: sqlglotc recurses on the C stack per level.
MAX_NESTING_DEPTH = 200
# Statements with more tokens than this are recorded as errors instead of parsed.
MAX_STATEMENT_TOKENS = 500_000

_TEMPLATE_MARKERS = re.compile(r"\{\{|\{%|\{#")
_DIALECT_COMMENT = re.compile(r"^\s*--\s*dialect\s*:\s*([A-Za-z0-9_]+)", re.IGNORECASE)

_QUERY_TYPES = (exp.Select, exp.SetOperation, exp.Subquery, exp.Values, exp.Pivot)
# Statement kinds that move rows between tables; others (GRANT, DROP, ...) get no READS edges.
_LINEAGE_KINDS = frozenset(
    {"SELECT", "SELECT_INTO", "INSERT", "CREATE_TABLE", "CREATE_VIEW", "MERGE", "UPDATE", "DELETE", "TRUNCATE", "COPY"}
)
# Kinds whose statements can write columns (column lineage is only computed for these).
_COLUMN_KINDS = frozenset({"SELECT_INTO", "INSERT", "CREATE_TABLE", "CREATE_VIEW", "MERGE", "UPDATE"})
_TOKEN_REPR = re.compile(r"<Token token_type: [^,]+, text: (.*?), line: \d+.*?>")
_PARSE_ERRORS = (SqlglotError, RecursionError, ValueError, TypeError, AttributeError, KeyError, IndexError)


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

    context = _Context(dialect_impl, text, columns)
    deadline = None if time_budget_seconds is None else time.monotonic() + time_budget_seconds
    for index, (chunk, deepest) in enumerate(_split_statements(tokens)):
        line = chunk[0].line
        if deadline is not None and time.monotonic() > deadline:
            lineage.statements.append(
                StatementLineage(index, "ERROR", line, error=f"time budget of {time_budget_seconds}s exceeded")
            )
            continue
        lineage.statements.append(_statement_lineage(context, chunk, deepest, index, line))
    return lineage


class _Context:
    """What every statement of one file shares: the dialect, its name rules, the text."""

    def __init__(self, dialect: Dialect, text: str, columns: bool) -> None:
        self.dialect = dialect
        self.names = Names.of(dialect)
        self.text = text
        self.columns = columns
        self._with_names: dict[int, list[str]] = {}

    def cte_names(self, with_: exp.With) -> list[str]:
        key = id(with_)
        names = self._with_names.get(key)
        if names is None:
            names = [self.names.ident(_alias_identifier(cte)) for cte in _items(with_)]
            self._with_names[key] = names
        return names


def _split_statements(tokens: list[Token]) -> Iterator[tuple[list[Token], int]]:
    """Split a token stream at semicolons, with each statement's deepest parenthesis nesting.

    Empty statements are dropped.
    """
    semicolon, l_paren, r_paren = TokenType.SEMICOLON, TokenType.L_PAREN, TokenType.R_PAREN
    chunk: list[Token] = []
    depth = deepest = 0
    for token in tokens:
        token_type = token.token_type
        if token_type is semicolon:
            if chunk:
                yield chunk, deepest
            chunk = []
            depth = deepest = 0
            continue
        if token_type is l_paren:
            depth += 1
            if depth > deepest:
                deepest = depth
        elif token_type is r_paren:
            depth -= 1
        chunk.append(token)
    if chunk:
        yield chunk, deepest


def _statement_lineage(context: _Context, tokens: list[Token], deepest: int, index: int, line: int) -> StatementLineage:
    refusal = _refuse_reason(tokens, deepest)
    if refusal:
        return StatementLineage(index, "ERROR", line, error=refusal)
    try:
        expression = _parse(context, tokens)
    except _PARSE_ERRORS as error:
        retried = _retry_double_from(context, tokens)
        if retried is None:
            return StatementLineage(index, "ERROR", line, error=_message(error))
        expression = retried
    if expression is None:
        return StatementLineage(index, "ERROR", line, error="statement could not be parsed")
    context._with_names.clear()
    try:
        statement = _lineage_of(context, expression, index, line)
    except _PARSE_ERRORS as error:
        return StatementLineage(index, "ERROR", line, error=f"lineage extraction failed: {_message(error)}")
    if context.columns and statement.kind in _COLUMN_KINDS and not isinstance(expression, exp.Command):
        _add_columns(context, expression, statement)
    return statement


def _parse(context: _Context, tokens: list[Token]) -> exp.Expression | None:
    parsed = context.dialect.parser().parse(tokens, context.text)
    return next((e for e in parsed if e is not None), None)


def _add_columns(context: _Context, expression: exp.Expression, statement: StatementLineage) -> None:
    """Column lineage for a parsed statement; any failure is recorded, never raised."""
    try:
        columns, defined, positional = column_extract.statement_columns(context.names, expression, statement)
    except Exception as error:  # noqa: BLE001 - column lineage is best effort by contract
        statement.column_error = f"column lineage failed: {_message(error)}"
        return
    statement.columns = columns
    statement.defined_columns = defined
    statement.positional = positional


def _retry_double_from(context: _Context, tokens: list[Token]) -> exp.Expression | None:
    """T-SQL `DELETE [FROM] t FROM t JOIN ...`: sqlglot only knows the form without the first FROM."""
    if len(tokens) < 4 or tokens[0].token_type != TokenType.DELETE or tokens[1].token_type != TokenType.FROM:
        return None
    depth = 0
    for token in tokens[2:]:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif token.token_type == TokenType.FROM and depth == 0:
            break
    else:
        return None
    try:
        expression = _parse(context, [tokens[0], *tokens[2:]])
    except _PARSE_ERRORS:
        return None
    return expression if isinstance(expression, exp.Delete) else None


def _refuse_reason(tokens: list[Token], deepest: int) -> str | None:
    if len(tokens) > MAX_STATEMENT_TOKENS:
        return f"statement has {len(tokens)} tokens, more than the limit of {MAX_STATEMENT_TOKENS}"
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


# ------------------------------------------------------------------------------------------------
# Generic commands sqlglot does not parse: a careful re-parse of the two common MySQL forms
# ------------------------------------------------------------------------------------------------


def _command_lineage(context: _Context, command: exp.Command, index: int, line: int) -> StatementLineage:
    name = _command_name(command)
    rest = command.expression.name if isinstance(command.expression, exp.Literal) else ""
    if name == "REPLACE" and rest.strip():
        # MySQL / SQLite REPLACE [INTO] has INSERT's grammar and lineage.
        into = "" if re.match(r"\s*INTO\b", rest, re.IGNORECASE) else "INTO "
        try:
            insert = _parse(context, context.dialect.tokenize(f"INSERT {into}{rest}"))
        except _PARSE_ERRORS:
            insert = None
        if isinstance(insert, exp.Insert):
            statement = _lineage_of(context, insert, index, line)
            if context.columns:
                _add_columns(context, insert, statement)
            return statement
    if name == "RENAME":
        renamed = _rename_table(context, rest)
        if renamed:
            olds = [old for old, _ in renamed]
            statement = StatementLineage(index, "ALTER_RENAME", line)
            statement.renamed_from = olds[0] if len(renamed) == 1 else None
            statement.writes = sorted({new for _, new in renamed})
            return statement
    return StatementLineage(
        index,
        "COMMAND",
        line,
        error=f"not analysed: sqlglot parses this statement only as a generic command ({name})",
    )


def _rename_table(context: _Context, rest: str) -> list[tuple[TableRef | None, TableRef]]:
    """`RENAME TABLE a TO b[, c TO d]` as (old, new) pairs, each parsed as ALTER TABLE ... RENAME."""
    try:
        tokens = context.dialect.tokenize(rest)
    except Exception:  # noqa: BLE001 - malformed rest of a command
        return []
    if not tokens or tokens[0].token_type != TokenType.TABLE:
        return []
    pairs: list[list[Token]] = [[]]
    for token in tokens[1:]:
        if token.token_type == TokenType.COMMA:
            pairs.append([])
        else:
            pairs[-1].append(token)
    renamed = []
    for pair in pairs:
        split = next((i for i, t in enumerate(pair) if t.text.upper() == "TO"), None)
        if split is None or split == 0 or split == len(pair) - 1:
            return []
        old = rest[pair[0].start : pair[split - 1].end + 1]
        new = rest[pair[split + 1].start : pair[-1].end + 1]
        try:
            alter = _parse(context, context.dialect.tokenize(f"ALTER TABLE {old} RENAME TO {new}"))
        except _PARSE_ERRORS:
            return []
        rename = _alter_rename(context, alter) if isinstance(alter, exp.Alter) else None
        if rename is None:
            return []
        renamed.append(rename)
    return renamed


# ------------------------------------------------------------------------------------------------
# Table lineage
# ------------------------------------------------------------------------------------------------


def _lineage_of(context: _Context, expression: exp.Expression, index: int, line: int) -> StatementLineage:
    if isinstance(expression, exp.Command):
        return _command_lineage(context, expression, index, line)
    if isinstance(expression, exp.Alter):
        rename = _alter_rename(context, expression)
        if rename is not None:
            old, new = rename
            return StatementLineage(index, "ALTER_RENAME", line, writes=[new], renamed_from=old)
        return _alter_lineage(context, expression, index, line)

    kind, targets, views = _classify(expression)
    statement = StatementLineage(index, kind, line)
    if kind not in _LINEAGE_KINDS:
        return statement

    names = context.names
    target_ids = {id(t) for t in targets}
    written: list[exp.Table] = list(targets)
    skipped: set[int] = set()
    if isinstance(expression, exp.Copy) and not expression.args.get("kind"):
        # COPY <table> TO <file> exports the table's rows: it is read, not written.
        target_ids.clear()
        written.clear()
    reads: set[TableRef] = set()
    for node in expression.find_all(exp.Table, exp.DML, exp.LikeProperty, exp.Reference):
        if isinstance(node, exp.Table):
            node_id = id(node)
            if node_id in target_ids or node_id in skipped or _is_cte_reference(context, node):
                continue
            ref = _table_ref(names, node)
            if ref:
                reads.add(ref)
        elif isinstance(node, (exp.LikeProperty, exp.Reference)):
            # Definition-only references: the LIKE source and a foreign key's parent table.
            skipped.update(id(t) for t in node.find_all(exp.Table))
        elif isinstance(node, exp.DML) and not isinstance(node, exp.Copy):
            for target, instances in _dml_targets(context, node):
                written.append(target)
                target_ids.update(id(t) for t in instances)
    statement.writes = sorted({ref for ref in (_table_ref(names, t) for t in written) if ref})
    statement.reads = sorted(reads)
    statement.views = sorted({ref for ref in (_table_ref(names, t) for t in views) if ref})
    return statement


def _classify(expression: exp.Expression) -> tuple[str, list[exp.Table], list[exp.Table]]:
    """The statement kind, the Table nodes it writes directly, and those of them it defines as views.

    Targets of INSERT / UPDATE / DELETE / MERGE nodes are found by the walk in `_lineage_of`.
    """
    into = _select_into(expression)
    if into is not None:
        return "SELECT_INTO", _tables_of(into.this), []
    if isinstance(expression, _QUERY_TYPES):
        return "SELECT", [], []
    if isinstance(expression, (exp.Insert, exp.MultitableInserts)):
        return "INSERT", [], []
    if isinstance(expression, exp.Create):
        created = _tables_of(expression.this)
        kind = (expression.args.get("kind") or "").upper()
        if kind == "VIEW":
            return "CREATE_VIEW", created, created
        if kind == "TABLE":
            return "CREATE_TABLE", created, []
        return f"CREATE_{kind or 'OTHER'}", [], []
    if isinstance(expression, exp.Merge):
        return "MERGE", [], []
    if isinstance(expression, exp.Update):
        return "UPDATE", [], []
    if isinstance(expression, exp.Delete):
        return "DELETE", [], []
    if isinstance(expression, exp.TruncateTable):
        return "TRUNCATE", [t for t in _items(expression) if isinstance(t, exp.Table)], []
    if isinstance(expression, exp.Copy):
        return "COPY", _tables_of(expression.this), []
    if isinstance(expression, exp.Drop):
        kind = (expression.args.get("kind") or "").upper()
        return f"DROP_{kind}" if kind else "DROP", [], []
    return type(expression).__name__.upper(), [], []


def _select_into(expression: exp.Expression) -> exp.Into | None:
    """The INTO clause of a SELECT INTO, also when it sits on the first branch of a set operation."""
    node = expression
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this
    if isinstance(node, exp.Select):
        into = node.args.get("into")
        if isinstance(into, exp.Into):
            return into
    return None


def _alter_rename(context: _Context, alter: exp.Alter) -> tuple[TableRef | None, TableRef] | None:
    """(old, new) for ALTER TABLE / VIEW ... RENAME TO; an unqualified new name stays in the old
    name's schema (and is normalised as a name qualified that way)."""
    if not _alters_table(alter):
        return None
    rename = next((a for a in alter.args.get("actions") or () if isinstance(a, exp.AlterRename)), None)
    if rename is None or not isinstance(rename.this, exp.Table):
        return None
    old_table = alter.this if isinstance(alter.this, exp.Table) else None
    old = _table_ref(context.names, old_table) if old_table is not None else None
    new_table = rename.this
    if old_table is not None and any(new_table.args.get(k) is None and old_table.args.get(k) for k in ("db", "catalog")):
        new_table = new_table.copy()
        for key in ("catalog", "db"):
            if new_table.args.get(key) is None and old_table.args.get(key) is not None:
                new_table.set(key, old_table.args[key].copy())
    new = _table_ref(context.names, new_table)
    return (old, new) if new else None


def _alters_table(alter: exp.Alter) -> bool:
    kind = (alter.args.get("kind") or "").upper()
    return "TABLE" in kind or "VIEW" in kind


def _alter_lineage(context: _Context, alter: exp.Alter, index: int, line: int) -> StatementLineage:
    """ALTER changes the definition of the altered table (both tables of a SWAP); it reads only
    from a query it embeds (ALTER VIEW ... AS SELECT)."""
    statement = StatementLineage(index, "ALTER", line)
    if not _alters_table(alter):
        return statement
    kind = (alter.args.get("kind") or "").upper()
    names = context.names
    targets = _tables_of(alter.this)
    queries = []
    for action in alter.args.get("actions") or ():
        if isinstance(action, exp.SwapTable):
            targets.extend(_tables_of(action.this))
        elif isinstance(action, exp.Query):
            queries.append(action)
    statement.writes = sorted({ref for ref in (_table_ref(names, t) for t in targets) if ref})
    reads: set[TableRef] = set()
    for query in queries:
        for table in query.find_all(exp.Table):
            if not _is_cte_reference(context, table):
                ref = _table_ref(names, table)
                if ref:
                    reads.add(ref)
    statement.reads = sorted(reads)
    if "VIEW" in kind and queries:
        statement.views = list(statement.writes)
    return statement


def _dml_targets(context: _Context, node: exp.DML) -> list[tuple[exp.Table, list[exp.Table]]]:
    """(target table, Table nodes that are instances of it) for one INSERT/UPDATE/DELETE/MERGE node."""
    if isinstance(node, (exp.Insert, exp.Merge)):
        return [(t, [t]) for t in _tables_of(node.this)]
    if isinstance(node, exp.Update):
        return _update_targets(context, node)
    if isinstance(node, exp.Delete):
        clause = _clause_tables(node.this) + [t for u in node.args.get("using") or () for t in _clause_tables(u)]
        named = [t for t in node.args.get("tables") or () if isinstance(t, exp.Table)]
        if not named:
            return [(t, [t]) for t in _tables_of(node.this)]
        return [_resolve_target(context, t, clause) for t in named]
    return []


def _update_targets(context: _Context, node: exp.Update) -> list[tuple[exp.Table, list[exp.Table]]]:
    this = node.this
    if not isinstance(this, exp.Table):
        return []
    from_ = node.args.get("from_")
    from_tables = _clause_tables(from_.this) if isinstance(from_, exp.From) else []
    joined = _clause_tables(this)
    if len(joined) > 1:
        # MySQL multi-table UPDATE: the written tables are those whose columns are SET.
        qualifiers = {
            context.names.ident(eq.this.args.get("table"))
            for eq in _items(node)
            if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column) and eq.this.args.get("table")
        }
        chosen = [t for t in joined if _source_name(context, t) in qualifiers]
        return [(t, [t]) for t in chosen or [this]]
    return [_resolve_target(context, this, from_tables)]


def _resolve_target(
    context: _Context, target: exp.Table, clause: list[exp.Table]
) -> tuple[exp.Table, list[exp.Table]]:
    """Resolve an UPDATE/DELETE target against the statement's FROM clause.

    An unqualified target naming a FROM-clause alias is that aliased table; a FROM-clause table
    with the target's own name and no alias is the target itself (T-SQL, MySQL). Either way that
    FROM instance is the target and not a read.
    """
    others = [t for t in clause if t is not target]
    if not target.args.get("db") and not target.args.get("catalog"):
        name = context.names.table_part(target.this) if isinstance(target.this, exp.Identifier) else target.name
        for table in others:
            alias = table.args.get("alias")
            if isinstance(alias, exp.TableAlias) and alias.this and context.names.ident(alias.this) == name:
                return table, [target, table]
    ref = _table_ref(context.names, target)
    same = [t for t in others if not t.alias and ref is not None and _table_ref(context.names, t) == ref]
    return target, [target, *same]


def _clause_tables(node: exp.Expression | None) -> list[exp.Table]:
    """The tables of a FROM-like clause (a table and its joins), without descending into subqueries."""
    tables: list[exp.Table] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, exp.Join):
            current = current.this
        if isinstance(current, exp.Table):
            tables.append(current)
            stack.extend(reversed(current.args.get("joins") or ()))
    return tables


def _source_name(context: _Context, table: exp.Table) -> str:
    alias = table.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.this:
        return context.names.ident(alias.this)
    return context.names.ident(table.this)


def _items(node: exp.Expression) -> list[exp.Expression]:
    """A node's `expressions` as a list, also when a dialect's parser put a single node there."""
    items = node.args.get("expressions")
    if items is None:
        return []
    return items if isinstance(items, list) else [items]


def _tables_of(node: exp.Expression | None) -> list[exp.Table]:
    if isinstance(node, exp.Schema):
        node = node.this
    return [node] if isinstance(node, exp.Table) else []


def _command_name(expression: exp.Expression) -> str:
    return str(expression.this or "unknown").upper()[:40]


_table_ref = table_ref


def _alias_identifier(cte: exp.Expression) -> exp.Expression | None:
    alias = cte.args.get("alias")
    return alias.this if isinstance(alias, exp.TableAlias) else None


def _is_cte_reference(context: _Context, table: exp.Table) -> bool:
    """True when an unqualified table name refers to a CTE visible at its position.

    Names are compared after the dialect's normalisation; inside a non-recursive WITH a CTE sees
    the CTEs before it, inside a RECURSIVE one every CTE of the list.
    """
    if table.args.get("db") or table.args.get("catalog") or not isinstance(table.this, exp.Identifier):
        return False
    name: str | None = None
    child: exp.Expression = table
    parent = table.parent
    while parent is not None:
        with_ = parent.args.get("with_")
        if isinstance(with_, exp.With) and child is not with_:
            if name is None:
                name = context.names.table_part(table.this)
            if name in context.cte_names(with_):
                return True
        if isinstance(parent, exp.With):
            ctes = _items(parent)
            position = next((i for i, cte in enumerate(ctes) if cte is child), None)
            if position is not None:
                if name is None:
                    name = context.names.table_part(table.this)
                cte_names = context.cte_names(parent)
                visible = cte_names if parent.args.get("recursive") else cte_names[:position]
                if name in visible:
                    return True
        child, parent = parent, parent.parent
    return False


def parse_only(text: str, dialect: str) -> int:
    """Bare sqlglot parsing of a file, the floor that benchmarks compare extraction with."""
    try:
        return len(sqlglot.parse(text, read=dialect or None))
    except Exception:  # noqa: BLE001 - benchmarks count failures, they do not stop on them
        return 0
