"""Statements sqlglot only parses as a generic `Command`: re-read the ones that carry lineage.

One handler per command word (`RENAME`, `CALL`, `UNLOAD`, `ALTER`, `CREATE`, `GET`; commands that
are another statement in disguise, like MySQL `REPLACE`, are rewritten before this by `parse`);
a command known to carry no lineage (VACUUM, SHOW, ...) keeps its name as its kind; anything else
is a `COMMAND` statement whose error says it was not analysed. `is_known` tells the parser whether
to try a fallback dialect before settling for a command.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from ingest_pipeline.lineage import handlers, tables
from ingest_pipeline.lineage.context import Context
from ingest_pipeline.lineage.locations import literal_location, stage
from ingest_pipeline.lineage.model import StatementLineage, TableRef
from ingest_pipeline.lineage.pieces import L_PAREN, R_PAREN, STRINGS

CommandHandler = Callable[[Context, str, StatementLineage], bool]
_COMMANDS: dict[str, CommandHandler] = {}

# Commands that never move rows between tables: recorded under their own name, without error.
LINEAGE_FREE = frozenset(
    {"VACUUM", "ANALYZE", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "USE", "SET", "RESET", "GRANT", "REVOKE", "DENY",
     "DBCC", "BACKUP", "RESTORE", "CHECKPOINT", "KILL", "RECONFIGURE", "REFRESH", "MSCK", "CACHE", "UNCACHE", "ADD",
     "LIST", "REMOVE", "COMMENT", "LOCK", "UNLOCK", "PREPARE", "DEALLOCATE", "DISCARD", "LISTEN", "NOTIFY", "CLUSTER",
     "REINDEX", "PRAGMA", "INSTALL", "LOAD", "ATTACH", "DETACH", "FLUSH", "PURGE", "PRINT", "OPTIMIZE", "FETCH",
     "CLOSE", "OPEN", "BEGIN", "END", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "ABORT", "START", "WAITFOR",
     "RAISERROR", "THROW", "ENABLE", "DISABLE", "REVERT", "SETUSER", "SHUTDOWN", "EXECUTE", "EXEC", "UNDROP",
     "DROP", "SYNC", "CHECKSUM", "REPAIR", "HANDLER", "DO", "GO", "DECLARE"}
)
# CREATE <object> that never holds rows of a table (a CREATE TABLE / VIEW command stays unanalysed).
_CREATE_WITHOUT_ROWS = frozenset(
    {"LOGIN", "USER", "ROLE", "SCHEMA", "DATABASE", "INDEX", "UNIQUE", "CLUSTERED", "NONCLUSTERED", "COLUMNSTORE",
     "STATISTICS", "SEQUENCE", "TYPE", "ASSEMBLY", "CERTIFICATE", "CREDENTIAL", "ENDPOINT", "QUEUE", "SERVICE",
     "ROUTE", "CONTRACT", "MESSAGE", "EVENT", "PARTITION", "FULLTEXT", "XML", "SPATIAL", "SYMMETRIC", "ASYMMETRIC",
     "MASTER", "SERVER", "AVAILABILITY", "RESOURCE", "WORKLOAD", "SECURITY", "APPLICATION", "SYNONYM", "DEFAULT",
     "RULE", "AGGREGATE", "STAGE", "FILE", "WAREHOUSE", "INTEGRATION", "PIPE", "TASK", "STREAM", "EXTENSION",
     "TRIGGER", "FUNCTION", "PROCEDURE", "PROC", "CATALOG", "CONNECTION", "SHARE", "TAG", "POLICY", "NETWORK",
     "TABLESPACE", "DIRECTORY", "LIBRARY", "CONTEXT", "PROFILE", "AUDIT", "OPERATOR", "DOMAIN", "COLLATION",
     "PUBLICATION", "SUBSCRIPTION", "ACCESS", "LANGUAGE", "CAST", "CONVERSION", "FOREIGN", "EXTERNAL", "PRIMARY",
     "REMOTE", "BROKER", "SELECTIVE", "SERVICE"}
)
_SWITCH = re.compile(r"\bSWITCH\b", re.IGNORECASE)


def command(name: str) -> Callable[[CommandHandler], CommandHandler]:
    def register(handler: CommandHandler) -> CommandHandler:
        _COMMANDS[name] = handler
        return handler

    return register


def command_name(expression: exp.Expression) -> str:
    """The command's words as sqlglot read them, upper case (`MSCK REPAIR`, `ADD JAR`)."""
    return " ".join(str(expression.this or "unknown").upper().split())[:40]


def is_lineage_free(expression: exp.Command) -> bool:
    """A command that cannot move rows: no fallback dialect needs to be tried for it. Decided by
    its first word, as some dialects read several words as one command (Hive `ADD JAR`)."""
    return command_name(expression).split(" ", 1)[0] in LINEAGE_FREE


@handlers.handles(exp.Command)
def _command(context: Context, expression: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    name = command_name(expression)
    rest = expression.expression.name if isinstance(expression.expression, exp.Literal) else str(expression.expression or "")
    handler = _COMMANDS.get(name)
    statement.kind = name.replace(" ", "_")
    if handler is not None:
        if handler(context, rest, statement):
            return
    elif is_lineage_free(expression):
        return
    statement.kind = "COMMAND"
    statement.error = f"not analysed: sqlglot parses this statement only as a generic command ({name})"


@command("CREATE")
def _create(context: Context, rest: str, statement: StatementLineage) -> bool:
    """CREATE of an object that holds no table rows (a login, an index, a stage ...)."""
    words = [w.upper() for w in re.findall(r"[A-Za-z_]+", rest[:120])]
    while words and words[0] in ("OR", "REPLACE", "ALTER", "TEMP", "TEMPORARY", "SECURE", "GLOBAL", "LOCAL", "IF", "NOT", "EXISTS"):
        words.pop(0)
    if words and words[0] in _CREATE_WITHOUT_ROWS:
        statement.kind = f"CREATE_{words[0]}"
        return True
    return False


def _tokens(context: Context, text: str) -> list[Token]:
    try:
        return context.dialect.tokenize(text)
    except Exception:  # noqa: BLE001 - malformed rest of a command
        return []


def _parse(context: Context, text: str) -> exp.Expression | None:
    try:
        parsed = context.dialect.parser().parse(context.dialect.tokenize(text), text)
    except Exception:  # noqa: BLE001 - the caller falls back to an unanalysed command
        return None
    return next((e for e in parsed if e is not None), None)


@command("RENAME")
def _rename(context: Context, rest: str, statement: StatementLineage) -> bool:
    """`RENAME TABLE a TO b[, c TO d]`, each pair read as ALTER TABLE ... RENAME."""
    tokens = _tokens(context, rest)
    if not tokens or tokens[0].token_type != TokenType.TABLE:
        return False
    pairs: list[list[Token]] = [[]]
    for token in tokens[1:]:
        if token.token_type == TokenType.COMMA:
            pairs.append([])
        else:
            pairs[-1].append(token)
    renamed: list[tuple[TableRef | None, TableRef]] = []
    for pair in pairs:
        split = next((i for i, t in enumerate(pair) if t.text.upper() == "TO"), None)
        if split is None or split == 0 or split == len(pair) - 1:
            return False
        old = rest[pair[0].start : pair[split - 1].end + 1]
        new = rest[pair[split + 1].start : pair[-1].end + 1]
        alter = _parse(context, f"ALTER TABLE {old} RENAME TO {new}")
        rename = handlers.alter_rename(context, alter) if isinstance(alter, exp.Alter) else None
        if rename is None:
            return False
        renamed.append(rename)
    statement.kind = "ALTER_RENAME"
    statement.renamed_from = renamed[0][0] if len(renamed) == 1 else None
    statement.writes = sorted({new for _, new in renamed})
    return True


@command("CALL")
def _call(context: Context, rest: str, statement: StatementLineage) -> bool:
    """`CALL [schema.]proc(args)`: a call of that routine."""
    tokens = _tokens(context, rest)
    end = next((i for i, t in enumerate(tokens) if t.token_type is L_PAREN), len(tokens))
    routine = context.name_ref(tokens[:end])
    if routine is not None:
        statement.calls = [routine]
    return True


@command("UNLOAD")
def _unload(context: Context, rest: str, statement: StatementLineage) -> bool:
    """Redshift `UNLOAD ('<query>') TO 's3://...'` and Athena `UNLOAD (<query>) TO 's3://...'`:
    the query's tables are read, the location written."""
    tokens = _tokens(context, rest)
    if not tokens or tokens[0].token_type is not L_PAREN:
        return False
    close = _closing(tokens, 0)
    inner = tokens[1:close]
    if len(inner) == 1 and inner[0].token_type in STRINGS:
        query = inner[0].text
    elif inner:
        query = rest[inner[0].start : inner[-1].end + 1]
    else:
        return False
    parsed = _parse(context, query)
    if parsed is not None:
        tables.collect(context, parsed, statement)
    after = tokens[close + 1 : close + 3]
    if len(after) == 2 and after[0].text.upper() == "TO" and after[1].token_type in STRINGS:
        statement.location_writes = [after[1].text]
    return True


@command("ALTER")
def _alter(context: Context, rest: str, statement: StatementLineage) -> bool:
    """ALTER forms sqlglot does not model. `ALTER TABLE t EXCHANGE PARTITION (...) WITH TABLE s`
    (Hive, Oracle) moves s's rows into t; T-SQL `ALTER TABLE s SWITCH [PARTITION n] TO t` moves
    s's rows to t. Any other ALTER TABLE changes t's definition (writes t)."""
    tokens = _tokens(context, rest)
    if not tokens or tokens[0].token_type is not TokenType.TABLE:
        return True
    name_end = _name_end(tokens, 1)
    altered = context.name_ref(tokens[1:name_end])
    words = [t.text.upper() if t.token_type not in STRINGS else "" for t in tokens]
    other = None
    if "EXCHANGE" in words and "WITH" in words:
        at = words.index("WITH")
        if at + 1 < len(words) and words[at + 1] == "TABLE":
            other = context.name_ref(tokens[at + 2 : _name_end(tokens, at + 2)])
            source, target = other, altered
    if other is None and _SWITCH.search(rest) and "TO" in words:
        at = words.index("TO", words.index("SWITCH"))
        other = context.name_ref(tokens[at + 1 : _name_end(tokens, at + 1)])
        source, target = altered, other
    statement.kind = "ALTER"
    if other is not None and source is not None and target is not None:
        statement.reads, statement.writes = [source], [target]
    elif altered is not None:
        statement.writes = [altered]
    return True


@command("GET")
def _get(context: Context, rest: str, statement: StatementLineage) -> bool:
    """Snowflake `GET @stage/path file:///local/`: downloads from a stage."""
    parts = rest.split()
    if len(parts) < 2 or not parts[0].startswith("@"):
        return False
    statement.location_reads = [stage(context.names, parts[0])]
    statement.location_writes = [parts[1].strip("'")]
    return True


def _closing(tokens: list[Token], open_index: int) -> int:
    depth = 0
    for index in range(open_index, len(tokens)):
        if tokens[index].token_type is L_PAREN:
            depth += 1
        elif tokens[index].token_type is R_PAREN:
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def _name_end(tokens: list[Token], start: int) -> int:
    index = start + 1
    while index + 1 < len(tokens) and tokens[index].token_type is TokenType.DOT:
        index += 2
    return min(index, len(tokens))


def bulk_insert(context: Context, tokens: list[Token], statement: StatementLineage) -> bool:
    """T-SQL `BULK INSERT t FROM 'file' [WITH (...)]`: writes t, reads the file."""
    if len(tokens) < 4 or tokens[0].text.upper() != "BULK" or tokens[1].text.upper() != "INSERT":
        return False
    name_end = _name_end(tokens, 2)
    target = context.name_ref(tokens[2:name_end])
    if target is None:
        return False
    statement.kind = "BULK_INSERT"
    statement.writes = [target]
    if name_end + 1 < len(tokens) and tokens[name_end].text.upper() == "FROM" and tokens[name_end + 1].token_type in STRINGS:
        location = literal_location(exp.Literal.string(tokens[name_end + 1].text))
        statement.location_reads = [location] if location else []
    return True
