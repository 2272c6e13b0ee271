"""Token rewrites that make a statement parse as what it means to lineage, for forms sqlglot misreads.

All of them drop or reshape only what carries no lineage (hints, row limits, a file format) or
spell out what the syntax implies (`a += b` is `a = a + b`). Pure functions over token lists.
"""

from __future__ import annotations

from sqlglot.tokens import Token, TokenType

from ingest_pipeline.lineage.pieces import word

TABLE_HINTS = frozenset(
    {"TABLOCK", "TABLOCKX", "HOLDLOCK", "NOLOCK", "ROWLOCK", "PAGLOCK", "UPDLOCK", "XLOCK", "READPAST", "READCOMMITTED",
     "READCOMMITTEDLOCK", "READUNCOMMITTED", "REPEATABLEREAD", "SERIALIZABLE", "SNAPSHOT", "NOWAIT", "KEEPIDENTITY",
     "KEEPDEFAULTS", "IGNORE_CONSTRAINTS", "IGNORE_TRIGGERS", "FORCESEEK", "FORCESCAN", "NOEXPAND", "INDEX"}
)
_HINT_PUNCTUATION = frozenset({TokenType.COMMA, TokenType.L_PAREN, TokenType.R_PAREN, TokenType.NUMBER, TokenType.EQ})
_COMPOUND = frozenset({TokenType.PLUS, TokenType.DASH, TokenType.STAR, TokenType.SLASH, TokenType.MOD, TokenType.AMP, TokenType.CARET, TokenType.PIPE})
_TARGET_TYPES = frozenset({TokenType.VAR, TokenType.IDENTIFIER, TokenType.DOT, TokenType.PARAMETER})
_NAME_TYPES = frozenset({TokenType.VAR, TokenType.IDENTIFIER})


def without_hints(tokens: list[Token]) -> list[Token]:
    """T-SQL without its table hints (`WITH (TABLOCK)` after a table) and query hints (`OPTION (...)`)."""
    kept: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if following is not None and following.token_type is TokenType.L_PAREN and word(token) in ("WITH", "OPTION"):
            close = closing(tokens, index + 1)
            inner = {word(t) for t in tokens[index + 2 : close] if t.token_type not in _HINT_PUNCTUATION}
            if word(token) == "OPTION" or (inner and inner <= TABLE_HINTS):
                index = close + 1
                continue
        kept.append(token)
        index += 1
    return kept if len(kept) < len(tokens) else tokens


def without_directory_format(tokens: list[Token]) -> list[Token]:
    """Databricks `INSERT OVERWRITE [LOCAL] DIRECTORY 'p' USING fmt [OPTIONS (...)] query`: the
    file format is no lineage, and without it the Hive form parses."""
    words = [word(t) for t in tokens[:6]]
    if words[:2] != ["INSERT", "OVERWRITE"] or "DIRECTORY" not in words:
        return tokens
    using = words.index("DIRECTORY") + 2
    if using + 1 >= len(tokens) or word(tokens[using]) != "USING":
        return tokens
    end = using + 2
    if end + 1 < len(tokens) and word(tokens[end]) == "OPTIONS" and tokens[end + 1].token_type is TokenType.L_PAREN:
        end = closing(tokens, end + 1) + 1
    return [*tokens[:using], *tokens[end:]]


def closing(tokens: list[Token], open_index: int) -> int:
    """Index of the parenthesis closing the one at `open_index` (the last token when unclosed)."""
    depth = 0
    for index in range(open_index, len(tokens)):
        if tokens[index].token_type is TokenType.L_PAREN:
            depth += 1
        elif tokens[index].token_type is TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return index
    return len(tokens) - 1


def tsql_prepared(tokens: list[Token]) -> list[Token]:
    """T-SQL forms sqlglot misreads, made plain: `CREATE OR ALTER` (-> CREATE), `TOP (n)` on a
    DML statement, compound assignments."""
    if len(tokens) > 3 and word(tokens[0]) == "CREATE" and word(tokens[1]) == "OR" and word(tokens[2]) == "ALTER":
        tokens = [tokens[0], *tokens[3:]]
    return compound_assignments(_without_top(tokens))


def without_noise_words(tokens: list[Token]) -> list[Token]:
    """Keywords sqlglot misreads and lineage does not need: `DELETE FROM TABLE t` (Hive,
    Informix; sqlglot reads a table named `table` aliased `t`) and the `LOCAL` of `CREATE LOCAL
    TEMP[ORARY] TABLE` (PostgreSQL, Vertica, ANSI; sqlglot gives up on the statement)."""
    if len(tokens) < 4:
        return tokens
    first, second, third = tokens[0].token_type, tokens[1].token_type, tokens[2].token_type
    if first is TokenType.DELETE and second is TokenType.FROM and third is TokenType.TABLE and tokens[3].token_type in _NAME_TYPES:
        return [tokens[0], tokens[1], *tokens[3:]]
    if first is TokenType.CREATE and word(tokens[1]) == "LOCAL" and word(tokens[2]) in ("TEMP", "TEMPORARY"):
        return [tokens[0], *tokens[2:]]
    return tokens


def _without_top(tokens: list[Token]) -> list[Token]:
    """T-SQL `DELETE|UPDATE|INSERT|MERGE TOP (n) [PERCENT]`: the row limit is no lineage, and
    sqlglot reads `DELETE TOP (10)` as a table named TOP."""
    if len(tokens) < 3 or word(tokens[1]) != "TOP" or word(tokens[0]) not in ("DELETE", "UPDATE", "INSERT", "MERGE"):
        return tokens
    if tokens[2].token_type is not TokenType.L_PAREN:
        return tokens
    end = closing(tokens, 2) + 1
    if end < len(tokens) and word(tokens[end]) == "PERCENT":
        end += 1
    return [tokens[0], *tokens[end:]]


def compound_assignments(tokens: list[Token]) -> list[Token]:
    """T-SQL `target += value` (and -=, *=, /=, %=, &=, ^=, |=) -> `target = target + value`.

    In `UPDATE t SET a += ...` the repeated `a` is the updated table's column, so it is written
    `t.a`: the right-hand side then reads that column and no other table's `a`.
    """
    rewritten: list[Token] | None = None
    qualifier = _update_target(tokens)
    index = offset = 0
    while index < len(tokens) - 1:
        operator, equals = tokens[index], tokens[index + 1]
        if operator.token_type in _COMPOUND and equals.token_type is TokenType.EQ and operator.end + 1 == equals.start:
            start = index
            while start > 0 and tokens[start - 1].token_type in _TARGET_TYPES:
                start -= 1
            if start < index:
                target = tokens[start:index]
                if qualifier and len(target) == 1 and target[0].token_type is not TokenType.PARAMETER:
                    dot = Token(TokenType.DOT, ".", target[0].line, target[0].col, target[0].start, target[0].start)
                    target = [*qualifier, dot, *target]
                if rewritten is None:
                    rewritten = list(tokens)
                position = index + offset
                rewritten[position : position + 2] = [equals, *target, operator]
                offset += len(target)
        index += 1
    return tokens if rewritten is None else rewritten


def _update_target(tokens: list[Token]) -> list[Token]:
    """The name tokens between UPDATE and SET (empty when it is not a plain name)."""
    if not tokens or tokens[0].token_type is not TokenType.UPDATE:
        return []
    end = next((i for i, token in enumerate(tokens) if token.token_type is TokenType.SET), 0)
    name = tokens[1:end]
    return name if name and all(t.token_type in _TARGET_TYPES for t in name) else []
