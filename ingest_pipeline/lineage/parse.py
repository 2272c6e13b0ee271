"""One piece's tokens -> one sqlglot expression, with the safety caps and the dialect fallback chain.

Statements that are too long or too deeply nested for the compiled parser's native stack are
refused before parsing. A statement the file's dialect cannot parse (or only parses as a generic
`Command` that might carry lineage) is tried in the dialects of `FALLBACKS`, in order; the first
that yields a real statement wins and is recorded as the statement's `parsed_as`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

from ingest_pipeline.lineage import commands, rewrites
from ingest_pipeline.lineage.context import Context
from ingest_pipeline.lineage.pieces import Piece, deepest, span_text, word
from ingest_pipeline.lineage.walker import QUERY_WORDS

# Parenthesis nesting beyond this is refused: sqlglotc recurses on the C stack per level.
MAX_NESTING_DEPTH = 200
# Statements with more tokens than this are recorded as errors instead of parsed.
MAX_STATEMENT_TOKENS = 500_000
PARSE_ERRORS = (SqlglotError, RecursionError, ValueError, TypeError, AttributeError, KeyError, IndexError)

# Related dialects tried, in order, when a statement does not parse in the file's own dialect.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "athena": ("trino", "presto", "hive"),
    "trino": ("presto", "athena", "hive"),
    "presto": ("trino", "athena", "hive"),
    "databricks": ("spark", "hive"),
    "spark": ("databricks", "hive"),
    "spark2": ("spark", "databricks", "hive"),
    "hive": ("spark", "databricks"),
    "redshift": ("postgres", "tsql"),
    "materialize": ("postgres",),
    "risingwave": ("postgres",),
    "fabric": ("tsql",),
    "doris": ("mysql",),
    "starrocks": ("mysql",),
    "singlestore": ("mysql",),
    "": ("postgres", "mysql", "tsql", "bigquery", "snowflake"),
}

# Statements that carry no rows: when they do not parse, their first word is their kind.
_SALVAGED_WORDS = frozenset({"DROP", "GRANT", "REVOKE", "DENY", "ALTER", "CREATE", "USE"})
# Statements that may carry keywords sqlglot misreads (`rewrites.without_noise_words`).
_NOISY_STARTS = frozenset({TokenType.DELETE, TokenType.CREATE})
# A table named by a string or an expression, resolved after parsing (`_name_dynamic_tables`).
_NAMED_BY_STRING = re.compile(r"\bidentifier\s*\(", re.IGNORECASE)
_TOKEN_REPR = re.compile(r"<Token token_type: [^,]+, text: (.*?), line: \d+.*?>")


@dataclass
class Parsed:
    expression: exp.Expression | None = None
    error: str | None = None
    parsed_as: str | None = None
    # Set when only part of the statement could be read (its table lineage is still right).
    partial: str | None = None


def parse_piece(context: Context, piece: Piece) -> Parsed:
    """Parse a piece (a query piece as the query it holds). Never raises."""
    parsed = _parse_piece(context, piece)
    tokens = piece.tokens
    if parsed.expression is not None and tokens and _names_by_string(piece.sql, tokens[0].start, tokens[-1].end + 1):
        _name_dynamic_tables(context, parsed.expression)
    return parsed


def _names_by_string(sql: str, start: int, end: int) -> bool:
    """Whether the statement may call IDENTIFIER(...); plain substring tests first, as a
    case-insensitive regex over every statement would cost a tenth of the extraction."""
    if sql.find("dentifier", start, end) < 0 and sql.find("DENTIFIER", start, end) < 0:
        return False
    return _NAMED_BY_STRING.search(sql, start, end) is not None


def _name_dynamic_tables(context: Context, expression: exp.Expression) -> None:
    """Snowflake / Databricks `IDENTIFIER('db.t')` (also `IDENTIFIER(db.t)`) names a table: the
    Table node becomes that name. A name held in a variable (`IDENTIFIER($t)`) stays unknown."""
    for node in list(expression.find_all(exp.Table, exp.Schema)):
        if isinstance(node, exp.Schema):
            # `INSERT INTO IDENTIFIER('t') SELECT ...` reads to sqlglot as a column list of `IDENTIFIER`.
            table, listed = node.this, node.expressions
            if isinstance(table, exp.Table) and _is_identifier_word(table) and len(listed) == 1:
                named = _named_table(context, listed[0])
                if named is not None:
                    node.replace(named)
            continue
        argument = _identifier_argument(node.this)
        named = _named_table(context, argument) if argument is not None else None
        if named is not None:
            for key in ("catalog", "db", "this"):
                node.set(key, named.args.get(key))


def _is_identifier_word(table: exp.Table) -> bool:
    this = table.this
    return isinstance(this, exp.Identifier) and not this.quoted and this.name.upper() == "IDENTIFIER" and not table.args.get("db")


def _identifier_argument(node: exp.Expression | None) -> exp.Expression | None:
    if isinstance(node, exp.DynamicIdentifier):
        return node.this
    if isinstance(node, exp.Anonymous) and node.name.upper() == "IDENTIFIER" and len(node.expressions) == 1:
        return node.expressions[0]
    return None


def _named_table(context: Context, argument: exp.Expression) -> exp.Table | None:
    """The table a string literal, a bare name or a session variable set to a string earlier in
    the file (`$t`) spells; None for any other variable."""
    if isinstance(argument, exp.Literal) and argument.is_string:
        name = argument.name
    elif isinstance(argument, exp.Column):
        name = argument.sql(dialect=context.dialect)
    elif isinstance(argument, exp.Parameter):
        name = context.variables.get(argument.name.upper(), "")
    else:
        return None
    return context.table_from_text(name) if name and name[0] not in "$:@?" else None


def _parse_piece(context: Context, piece: Piece) -> Parsed:
    tokens = list(piece.tokens)
    if len(tokens) > MAX_STATEMENT_TOKENS:
        return Parsed(error=f"statement has {len(tokens)} tokens, more than the limit of {MAX_STATEMENT_TOKENS}")
    depth = deepest(tokens) if piece.deepest is None else piece.deepest
    if depth > MAX_NESTING_DEPTH:
        return Parsed(error=f"nesting depth {depth} exceeds the limit of {MAX_NESTING_DEPTH}")
    text = span_text(tokens, piece.sql)
    sql, line_base = piece.sql, piece.line_offset
    if word(tokens[0]) == "DECLARE" and len(tokens) > 4 and word(tokens[1]) == "GLOBAL":
        declared = _global_temporary(context, text)
        if declared is not None:
            return Parsed(declared)
    if piece.query and word(tokens[0]) not in QUERY_WORDS:
        first = tokens[0]
        tokens.insert(0, Token(TokenType.SELECT, "SELECT", first.line, first.col, first.start, first.start))
        text = "SELECT " + text
    elif tokens[0].token_type in context.command_types:
        # The real tokenizer's command mode gives sqlglot the Command(<name>, <rest>) it expects.
        try:
            tokens, sql, line_base = context.dialect.tokenize(text), text, piece.line - 1
        except Exception as error:  # noqa: BLE001 - the tokenizer can fail on any malformed text
            return Parsed(error=message(error, piece.line - 1))
    if piece.insert_exec:
        last = tokens[-1]
        tokens += [Token(t, t.name, last.line, last.col, last.end, last.end) for t in (TokenType.DEFAULT, TokenType.VALUES)]
    if tokens[0].token_type in _NOISY_STARTS:
        tokens = rewrites.without_noise_words(tokens)
    if context.family == "tsql":
        tokens = rewrites.tsql_prepared(tokens)
    try:
        expression = _parse(context.dialect, tokens, sql)
    except PARSE_ERRORS as error:
        retried = _retry(context, tokens, sql)
        if retried is not None:
            return Parsed(retried)
        failure = message(error, line_base)
        return _fallback(context, text) or _salvage(context, tokens, sql, failure) or Parsed(error=failure)
    if expression is None:
        return Parsed(error="statement could not be parsed")
    if isinstance(expression, exp.Command):
        rewritten = _rewrite(context, expression)
        if rewritten is not None:
            return Parsed(rewritten)
        if not commands.is_lineage_free(expression):
            return _fallback(context, text) or _salvage(context, tokens, sql, "parsed only as a command") or Parsed(expression)
    return Parsed(expression)


def _rewrite(context: Context, command: exp.Command) -> exp.Expression | None:
    """MySQL / SQLite `REPLACE [INTO]` is a command to sqlglot and an INSERT to lineage."""
    rest = command.expression.name if isinstance(command.expression, exp.Literal) else ""
    if commands.command_name(command) != "REPLACE" or not rest.strip():
        return None
    text = ("INSERT " if re.match(r"\s*INTO\b", rest, re.IGNORECASE) else "INSERT INTO ") + rest
    return _reparse(context, text, exp.Insert)


def _global_temporary(context: Context, text: str) -> exp.Expression | None:
    """`DECLARE GLOBAL TEMPORARY TABLE t (cols) | AS (query) | LIKE s [options]` (DB2, ANSI)
    creates the temporary table `session.t`; the trailing options (ON COMMIT, WITH DATA, NOT
    LOGGED ...) carry no lineage."""
    try:
        tokens = context.tokenize(text)
    except Exception:  # noqa: BLE001 - not a declaration this can read
        return None
    name_start = 4
    name_end = name_start + 1
    while name_end + 1 < len(tokens) and tokens[name_end].token_type is TokenType.DOT:
        name_end += 2
    if name_end >= len(tokens):
        return None
    body_end = name_end + 2
    if tokens[name_end].token_type is TokenType.L_PAREN:
        body_end = rewrites.closing(tokens, name_end) + 1
    elif word(tokens[name_end]) == "AS" and name_end + 1 < len(tokens) and tokens[name_end + 1].token_type is TokenType.L_PAREN:
        body_end = rewrites.closing(tokens, name_end + 1) + 1
    name = span_text(tokens[name_start:name_end], text)
    qualified = name if name_end - name_start > 1 else "SESSION." + name
    return _reparse(context, f"CREATE TEMPORARY TABLE {qualified} {span_text(tokens[name_end:body_end], text)}", exp.Create)


def _reparse(context: Context, text: str, wanted: type[exp.Expression]) -> exp.Expression | None:
    try:
        parsed = _parse(context.dialect, context.dialect.tokenize(text), text)
    except PARSE_ERRORS:
        return None
    return parsed if isinstance(parsed, wanted) else None


def _parse(dialect: Dialect, tokens: list[Token], sql: str) -> exp.Expression | None:
    parsed = dialect.parser().parse(tokens, sql)
    return next((e for e in parsed if e is not None), None)


def _fallback(context: Context, text: str) -> Parsed | None:
    """The first related dialect that reads the statement as a real (non-Command) statement."""
    for name in FALLBACKS.get(context.dialect_name, ()):
        dialect = _dialect(name)
        if dialect is None:
            continue
        try:
            parsed = [e for e in dialect.parser().parse(dialect.tokenize(text), text) if e is not None]
        except Exception:  # noqa: BLE001 - this dialect cannot read it either; try the next
            continue
        if len(parsed) == 1 and not isinstance(parsed[0], exp.Command):
            return Parsed(parsed[0], parsed_as=name)
    return None


@lru_cache(maxsize=None)
def _dialect(name: str) -> Dialect | None:
    try:
        return Dialect.get_or_raise(name)
    except ValueError:
        return None


def _retry(context: Context, tokens: list[Token], sql: str) -> exp.Expression | None:
    """Re-parse without what sqlglot stumbles on and lineage does not need: T-SQL table hints
    (`INSERT t WITH (TABLOCK)`), query hints (`OPTION (USE HINT (...))`), the first FROM of
    `DELETE FROM t FROM t JOIN ...`."""
    double_from = _retry_double_from(context, tokens, sql)
    if double_from is not None:
        return double_from
    repaired = rewrites.without_hints(tokens) if context.family == "tsql" else rewrites.without_directory_format(tokens)
    if repaired is tokens:
        return None
    try:
        return _parse(context.dialect, repaired, sql) or None
    except PARSE_ERRORS:
        return _retry_double_from(context, repaired, sql)


def _salvage(context: Context, tokens: list[Token], sql: str, failure: str) -> Parsed | None:
    """What can be read of a statement the parser rejects: a CREATE TABLE / VIEW's name and its
    AS query (when that parses on its own); a statement that carries no rows (DROP, GRANT,
    ALTER ..., CREATE DATABASE) by its first word."""
    words = [word(t) for t in tokens[:8]]
    position = 3 if words[1:2] == ["OR"] else 1
    while position < len(words) and words[position] in ("MATERIALIZED", "SECURE", "TEMP", "TEMPORARY", "TRANSIENT", "SNAPSHOT"):
        position += 1
    if words[:1] == ["CREATE"] and position < len(words) and words[position] in ("TABLE", "VIEW"):
        table, name_end = _name_at(context, tokens, position + 1, sql)
        if table is not None:
            query = _query_after_as(context, tokens, name_end, sql)
            create = exp.Create(this=table, kind=words[position], expression=query)
            if name_end + 1 < len(tokens) and word(tokens[name_end]) in ("CLONE", "COPY", "LIKE"):
                # CREATE [SNAPSHOT] TABLE t CLONE|COPY|LIKE s ...: s is read.
                source, _ = _name_at(context, tokens, name_end + 1, sql)
                if source is not None:
                    create.set("clone", exp.Clone(this=source))
            return Parsed(create, partial=f"definition not fully parsed: {failure}")
    if words and words[0] in _SALVAGED_WORDS:
        rest = span_text(tokens[1:], sql) if len(tokens) > 1 else ""
        return Parsed(exp.Command(this=words[0], expression=exp.Literal.string(rest)))
    return None


def _name_at(context: Context, tokens: list[Token], start: int, sql: str) -> tuple[exp.Table | None, int]:
    """The dotted table name starting at `start` and the index after it."""
    end = start + 1
    while end + 1 < len(tokens) and tokens[end].token_type is TokenType.DOT:
        end += 2
    try:
        table = context.dialect.parser().parse_into(exp.Table, tokens[start:end], sql)[0]
    except PARSE_ERRORS:
        return None, end
    return (table if isinstance(table, exp.Table) else None), end


def _query_after_as(context: Context, tokens: list[Token], start: int, sql: str) -> exp.Expression | None:
    depth = 0
    for index in range(start, len(tokens) - 1):
        token_type = tokens[index].token_type
        depth += 1 if token_type is TokenType.L_PAREN else -1 if token_type is TokenType.R_PAREN else 0
        if depth == 0 and word(tokens[index]) == "AS" and word(tokens[index + 1]) in QUERY_WORDS:
            try:
                return _parse(context.dialect, tokens[index + 1 :], sql)
            except PARSE_ERRORS:
                return None
    return None


def _retry_double_from(context: Context, tokens: list[Token], sql: str) -> exp.Expression | None:
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
        expression = _parse(context.dialect, [tokens[0], *tokens[2:]], sql)
    except PARSE_ERRORS:
        return None
    return expression if isinstance(expression, exp.Delete) else None


def message(error: Exception, line_base: int = 0) -> str:
    """A parse error as one line, its line number counted in the file."""
    errors = getattr(error, "errors", None)
    if errors and isinstance(errors[0], dict) and errors[0].get("description"):
        first = errors[0]
        description = _TOKEN_REPR.sub(lambda m: repr(m.group(1)), first["description"])
        line = first.get("line")
        line = line + line_base if isinstance(line, int) else line
        return f"{description} (line {line}, col {first.get('col')})"
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:500]


def error_line(error: Exception, default: int = 1) -> int:
    errors = getattr(error, "errors", None)
    if errors and isinstance(errors[0], dict) and errors[0].get("line"):
        return int(errors[0]["line"])
    return default
