"""T-SQL batches: statements without semicolons, BEGIN ... END / IF / WHILE / TRY ... CATCH, routines.

T-SQL lets statements run together without `;`, so a statement ends at the next `;` or at the
first word, at parenthesis depth 0 and outside CASE ... END, that starts another statement
(`_continues` lists when such a word belongs to the current statement instead: `INSERT ...
SELECT`, `UNION SELECT`, `UPDATE ... SET`, `MERGE ... THEN UPDATE SET`, `ALTER TABLE ... DROP
COLUMN`, `GRANT SELECT, INSERT ON ...`, a table hint `WITH (NOLOCK)` ...). A word right after
FROM, JOIN, INTO, TABLE or a dot is a name, never a statement start.

`CREATE|ALTER PROCEDURE|FUNCTION|TRIGGER ... AS` makes the rest of the batch (up to GO) the
routine's body, as SQL Server does. `EXEC('...')` and `sp_executesql N'...'` with a literal
text are dynamic SQL analysed like the rest.
"""

from __future__ import annotations

from sqlglot.tokens import TokenType

from ingest_pipeline.lineage.pieces import L_PAREN, R_PAREN, SEMICOLON, Piece
from ingest_pipeline.lineage.walker import MAX_BLOCK_DEPTH, Walker

_STARTS = frozenset(
    {
        "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "SET", "DECLARE", "EXEC", "EXECUTE", "PRINT",
        "RAISERROR", "THROW", "RETURN", "IF", "ELSE", "WHILE", "BEGIN", "END", "GOTO", "BREAK", "CONTINUE", "OPEN",
        "CLOSE", "FETCH", "DEALLOCATE", "WAITFOR", "COMMIT", "ROLLBACK", "SAVE", "USE", "CREATE", "ALTER", "DROP",
        "TRUNCATE", "GRANT", "DENY", "REVOKE", "DBCC", "BACKUP", "RESTORE", "CHECKPOINT", "BULK", "RECONFIGURE",
        "KILL", "REVERT", "SETUSER", "SHUTDOWN", "READTEXT", "WRITETEXT", "UPDATETEXT", "ENABLE", "DISABLE", "SEND",
        "UPDATE STATISTICS",
    }
)
# Statements recorded under their keyword without parsing (a query inside them is read).
_RECOGNISED = frozenset(
    {"DECLARE", "SET", "PRINT", "RAISERROR", "THROW", "RETURN", "BREAK", "CONTINUE", "GOTO", "WAITFOR", "OPEN",
     "CLOSE", "FETCH", "DEALLOCATE", "DBCC", "BACKUP", "RESTORE", "CHECKPOINT", "KILL", "RECONFIGURE", "REVERT",
     "SETUSER", "SHUTDOWN", "ENABLE", "DISABLE", "READTEXT", "WRITETEXT", "UPDATETEXT", "SEND"}
)
# After these a keyword is an object name (`FROM open`, `INSERT INTO [status]`, `dbo.print`).
_NAME_CONTEXT = frozenset({"FROM", "JOIN", "INTO", "TABLE", "UPDATE", "APPLY", "EXEC", "EXECUTE", "VIEW", "PROCEDURE", "PROC", "FUNCTION"})
_OBJECT_KINDS = frozenset(
    {"TABLE", "VIEW", "PROCEDURE", "PROC", "FUNCTION", "SCHEMA", "TRIGGER", "DATABASE", "SEQUENCE", "TYPE", "SYNONYM",
     "USER", "ROLE", "LOGIN", "ASSEMBLY", "DEFAULT", "RULE", "STATISTICS", "PARTITION", "XML", "FULLTEXT", "EVENT",
     "QUEUE", "SERVICE", "ROUTE", "ENDPOINT", "CERTIFICATE", "CREDENTIAL", "EXTERNAL", "SECURITY", "SERVER", "MASTER",
     "SYMMETRIC", "ASYMMETRIC", "RESOURCE", "WORKLOAD", "AVAILABILITY", "APPLICATION", "COLUMNSTORE", "CLUSTERED",
     "NONCLUSTERED", "UNIQUE"}
)
_GRANTS = frozenset({"GRANT", "DENY", "REVOKE"})
_BEGIN_STATEMENTS = frozenset({"TRAN", "TRANSACTION", "DISTRIBUTED", "DIALOG", "CONVERSATION"})
_ROUTINES = {"PROC": "PROCEDURE", "PROCEDURE": "PROCEDURE", "FUNCTION": "FUNCTION", "TRIGGER": "TRIGGER"}


class TsqlWalker(Walker):
    """Pieces of one T-SQL batch (the text between two GO lines)."""

    def walk(self) -> list[Piece]:
        index = 0
        while index < self.size:
            index = self.statement(index)
        return self.pieces

    def statement(self, index: int) -> int:
        token = self.tokens[index]
        if token.token_type is SEMICOLON:
            return index + 1
        word = self.words[index]
        if (
            index + 1 < self.size
            and self.tokens[index + 1].token_type is TokenType.COLON
            and token.token_type is TokenType.VAR
            and word not in _STARTS
        ):
            return index + 2  # a GOTO label
        if self.depth >= MAX_BLOCK_DEPTH and word in ("BEGIN", "IF", "WHILE"):
            end = self.extent(index)
            self.error(index, f"blocks nested deeper than {MAX_BLOCK_DEPTH} levels are not analysed")
            return self._after(end)
        if self.depth < MAX_BLOCK_DEPTH:
            starter = _STARTERS.get(word)
            if starter is not None:
                after = starter(self, index)
                if after is not None:
                    return after
        end = self.extent(index)
        if word in _RECOGNISED:
            self.recognised(index, end, word)
        elif word == "UPDATE STATISTICS":
            self.emit(index, end, "UPDATE_STATISTICS")
        elif word == "INSERT" and (call := self.find_word(index + 1, ("EXEC", "EXECUTE"), end)) is not None:
            self._insert_exec(index, call, end)
        else:
            self.emit(index, end)
        return self._after(end)

    def _insert_exec(self, index: int, call: int, end: int) -> None:
        """`INSERT INTO t EXEC proc ...` writes t with the rows proc returns (or dynamic SQL returns)."""
        pieces = len(self.pieces)
        self._execute(call, end)
        called = [p for p in self.pieces[pieces:] if p.call is not None]
        del self.pieces[pieces:pieces + len(called)]
        self.emit(index, call, insert_exec=True, call=called[0].call if called else None)
        self.pieces.insert(pieces, self.pieces.pop())
    def _after(self, end: int) -> int:
        return end + 1 if end < self.size and self.tokens[end].token_type is SEMICOLON else end

    # -- blocks -------------------------------------------------------------------------------

    def _begin(self, index: int) -> int | None:
        following = self.words[index + 1] if index + 1 < self.size else ""
        if following in _BEGIN_STATEMENTS:
            return None
        start = index + 1
        if following in ("TRY", "CATCH"):
            start = index + 2
        elif following == "ATOMIC":
            start = index + 2
            if start < self.size and self.words[start] == "WITH" and start + 1 < self.size:
                start = self._close(start + 1) + 1
        with self.deeper():
            position = start
            while position < self.size and self.words[position] != "END":
                position = self.statement(position)
        return self._end(position)

    def _end(self, index: int) -> int:
        if index < self.size and self.words[index] == "END":
            index += 1
            if index < self.size and self.words[index] in ("TRY", "CATCH"):
                index += 1
        return self._after(index)

    def _stray(self, index: int) -> int:
        """END or ELSE without their block: structure noise, not a statement."""
        return self._end(index) if self.words[index] == "END" else index + 1

    def _if(self, index: int) -> int | None:
        start = self._condition_end(index + 1)
        if start is None:
            return None
        self.condition(index + 1, start, self.words[index], anchor=index)
        with self.deeper():
            position = self.statement(start)
            while position < self.size and self.tokens[position].token_type is SEMICOLON:
                position += 1
            if self.words[index] == "IF" and position < self.size and self.words[position] == "ELSE":
                position = self.statement(position + 1)
        return position

    def _condition_end(self, start: int) -> int | None:
        """Where the statement governed by IF / WHILE starts."""
        for position in self.top_level(start):
            word = self.words[position]
            if self.tokens[position].token_type is SEMICOLON:
                return None
            if word in _STARTS and position > start and not self._is_name(position):
                following = self.tokens[position + 1] if position + 1 < self.size else None
                if word in ("UPDATE", "INSERT") and following is not None and following.token_type is L_PAREN:
                    continue  # IF UPDATE(column) in a trigger
                return position
        return None

    # -- routines and dynamic SQL -------------------------------------------------------------

    def _create(self, index: int) -> int | None:
        position = index + 1
        if position + 1 < self.size and self.words[position] == "OR":
            position += 2
        kind = _ROUTINES.get(self.words[position]) if position < self.size else None
        if kind is None:
            return None
        name_end = self.name_end(position + 1)
        body = self._body_start(name_end)
        if body is None:
            return None
        routine = self.routine_name(position + 1, name_end)
        self.emit(index, body, f"{self.words[index]}_{kind}", defines=routine)
        if body < self.size and self.words[body] == "EXTERNAL":
            return self.size
        on = self.find_word(name_end, ("ON",), body) if kind == "TRIGGER" else None
        saved = (self.routine, self.procedural, self.trigger_table)
        self.routine, self.procedural = routine, True
        self.trigger_table = self.routine_name(on + 1, self.name_end(on + 1)) if on is not None else None
        try:
            while body < self.size:
                body = self.statement(body)
        finally:
            self.routine, self.procedural, self.trigger_table = saved
        return self.size

    def _body_start(self, start: int) -> int | None:
        """First token of a routine body: after its AS (not `EXECUTE AS`, not `@param AS type`),
        or at BEGIN / RETURN for a function written without AS."""
        tokens, words = self.tokens, self.words
        for position in self.top_level(start):
            word = words[position]
            if word == "AS" and words[position - 1] not in ("EXECUTE", "EXEC") and not (
                position >= 2 and tokens[position - 2].token_type is TokenType.PARAMETER
            ):
                return position + 1
            if word in ("BEGIN", "RETURN"):
                return position
        return None

    def _execute(self, index: int, end: int | None = None) -> int | None:
        """`EXEC [@status =] proc args` calls proc; `EXEC('...')` and `sp_executesql N'...'` run
        dynamic SQL; `sp_execute_external_script` also runs its `@input_data_1` query."""
        end = self.extent(index) if end is None else end
        tokens, position = self.tokens, index + 1
        if position >= end:
            return None
        if tokens[position].token_type is L_PAREN:
            self.dynamic(index, position + 1, min(self._close(position), end))
            return self._after(end)
        if self.words[position] == "AS":
            self.emit(index, end, "EXECUTE_AS")
            return self._after(end)
        if position + 2 < end and tokens[position].token_type is TokenType.PARAMETER and tokens[position + 2].token_type is TokenType.EQ:
            position += 3
        if position >= end or tokens[position].token_type is TokenType.PARAMETER:
            self.emit(index, end, "DYNAMIC_SQL")
            return self._after(end)
        name_end = min(self.name_end(position), end)
        procedure = tokens[name_end - 1].text.lower()
        if procedure == "sp_executesql":
            argument_end = next((i for i in range(name_end, end) if tokens[i].token_type is TokenType.COMMA), end)
            self.dynamic(index, name_end, argument_end)
            return self._after(end)
        self.emit(index, end, "EXECUTE", call=self.routine_name(position, name_end))
        if procedure == "sp_execute_external_script":
            self._script_input(name_end, end)
        return self._after(end)

    def _script_input(self, start: int, end: int) -> None:
        """The `@input_data_1 = N'<query>'` of sp_execute_external_script is a query it runs."""
        for position in range(start, end - 3):
            if (
                self.tokens[position].token_type is TokenType.PARAMETER
                and self.tokens[position + 1].text.upper() == "INPUT_DATA_1"
                and self.tokens[position + 2].token_type is TokenType.EQ
            ):
                value_end = next((i for i in range(position + 3, end) if self.tokens[i].token_type is TokenType.COMMA), end)
                self.dynamic(position, position + 3, value_end)
                return

    def _close(self, open_index: int) -> int:
        depth = 0
        for position in range(open_index, self.size):
            token_type = self.tokens[position].token_type
            if token_type is L_PAREN:
                depth += 1
            elif token_type is R_PAREN:
                depth -= 1
                if depth == 0:
                    return position
        return self.size

    # -- statement extent ---------------------------------------------------------------------

    def extent(self, start: int) -> int:
        """End (exclusive) of the statement starting at `start`: its `;`, or the next statement."""
        tokens, words = self.tokens, self.words
        state = _State(words[start])
        for position in self.top_level(start + 1):
            token_type = tokens[position].token_type
            word = words[position]
            if token_type is SEMICOLON or word == "END":
                return position
            if word in _STARTS and not self._is_name(position) and not self._continues(state, position):
                return position
            if token_type is TokenType.VAR and position + 1 < self.size and tokens[position + 1].token_type is TokenType.COLON:
                return position  # a GOTO label
            state.seen(word)
        return self.size

    def _is_name(self, position: int) -> bool:
        if self.is_qualified(position):
            return True
        return self.words[position - 1] in _NAME_CONTEXT and self.words[position] not in ("SELECT", "WITH", "SET", "EXEC", "EXECUTE")

    def _continues(self, state: _State, position: int) -> bool:
        """Whether a statement-start word at `position` belongs to the current statement."""
        word, previous = self.words[position], self.words[position - 1]
        following = self.words[position + 1] if position + 1 < self.size else ""
        head = state.head
        if head in _GRANTS and not state.has("TO", "FROM"):
            return True
        if word == "SELECT":
            return (
                previous in ("UNION", "ALL", "EXCEPT", "INTERSECT", "AS", "FOR", "RETURN", "DISTINCT")
                or (head == "INSERT" and not state.has("SELECT", "VALUES", "EXEC", "EXECUTE", "DEFAULT"))
                or (head == "DECLARE" and state.has("CURSOR"))
                or state.cte_pending
            )
        ddl = head in ("CREATE", "ALTER")
        if word in ("INSERT", "UPDATE", "DELETE", "MERGE"):
            # MERGE ... THEN UPDATE, ON DELETE CASCADE, a cursor's FOR UPDATE, BULK INSERT, a CTE's statement.
            return (
                previous in ("THEN", "BULK")
                or (previous == "ON" and ddl)
                or (previous == "FOR" and head == "DECLARE")
                or state.cte_pending
            )
        if word == "SET":
            return (head == "UPDATE" and not state.has("SET")) or head in ("MERGE", "ALTER") or (ddl and previous in ("DELETE", "UPDATE"))
        if word == "WITH":
            if previous == "AS" or previous == "RETURN":
                state.cte_pending = True
                return True
            return not self._starts_cte(position)
        if word in ("EXEC", "EXECUTE"):
            return (head == "INSERT" and not state.has("SELECT", "VALUES")) or previous in ("WITH", ",")
        if word == "IF":
            return head in ("DROP", "CREATE", "ALTER") and following in ("EXISTS", "NOT")
        if word in ("DROP", "ALTER"):
            return (head == "ALTER" and following not in _OBJECT_KINDS) or previous == "OR"
        if word == "FETCH":
            return previous in ("ROWS", "ROW")
        if word == "SAVE":
            return following not in ("TRAN", "TRANSACTION")
        if word in ("ENABLE", "DISABLE"):
            return head in ("ALTER", "CREATE")
        return False

    def _starts_cte(self, position: int) -> bool:
        """`WITH name AS (`, `WITH name (cols) AS (` or `WITH XMLNAMESPACES` (a table hint is `WITH (`)."""
        tokens, words = self.tokens, self.words
        following = position + 1
        if following >= self.size or tokens[following].token_type is L_PAREN:
            return False
        if words[following] == "XMLNAMESPACES":
            return True
        after = following + 1
        if after < self.size and tokens[after].token_type is L_PAREN:
            after = self._close(after) + 1
        return after + 1 < self.size and words[after] == "AS" and tokens[after + 1].token_type is L_PAREN


class _State:
    """What the statement being delimited has seen so far (words at depth 0)."""

    def __init__(self, head: str) -> None:
        self.head = head
        self.cte_pending = head == "WITH"
        self._seen: set[str] = set()

    def seen(self, word: str) -> None:
        if self.cte_pending and word in ("SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"):
            self.cte_pending = False
            if self.head == "WITH":
                self.head = word
                return
        if word in _STARTS or word in ("VALUES", "DEFAULT", "CURSOR", "TO", "FROM"):
            self._seen.add(word)

    def has(self, *words: str) -> bool:
        return any(word in self._seen for word in words)


_STARTERS = {
    "BEGIN": TsqlWalker._begin,
    "END": TsqlWalker._stray,
    "ELSE": TsqlWalker._stray,
    "IF": TsqlWalker._if,
    "WHILE": TsqlWalker._if,
    "CREATE": TsqlWalker._create,
    "ALTER": TsqlWalker._create,
    "EXEC": TsqlWalker._execute,
    "EXECUTE": TsqlWalker._execute,
}

