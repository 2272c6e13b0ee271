"""The unit the script walkers hand on: one statement's tokens, where they sit, what holds them.

A walker (`blocks` for `;`-terminated dialects, `tsql` for T-SQL) turns a batch's tokens into
pieces: plain SQL statements to parse, and statements of procedural code it recognised itself
(conditions, cursor declarations, assignments, dynamic SQL) whose `kind` it already knows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, Tokenizer, TokenType

from ingest_pipeline.lineage.model import TableRef

# Token types whose text is data (strings, quoted names), never a keyword.
QUOTED = frozenset(t for t in TokenType if "STRING" in t.name) | {TokenType.IDENTIFIER}
STRINGS = frozenset(t for t in QUOTED if t is not TokenType.IDENTIFIER)
L_PAREN, R_PAREN, SEMICOLON = TokenType.L_PAREN, TokenType.R_PAREN, TokenType.SEMICOLON


@dataclass
class Piece:
    """Tokens of one statement. `kind` is set for procedural statements the walker recognised;
    `query` then says the tokens are an expression or query whose tables the statement reads."""

    tokens: Sequence[Token]
    sql: str
    line_offset: int
    routine: TableRef | None = None
    kind: str | None = None
    query: bool = False
    # Inside a procedural body: SELECT ... INTO names variables there, not a new table.
    procedural: bool = False
    # A routine header: the routine this statement defines.
    defines: TableRef | None = None
    # Deepest parenthesis nesting, when the walker measured it while delimiting the statement.
    deepest: int | None = None
    # A procedure call the walker recognised (PL/SQL `pkg.proc(args);`, SQL*Plus `EXEC proc`).
    call: TableRef | None = None
    # Dynamic SQL with a literal text (EXECUTE IMMEDIATE '...', EXEC('...')): that text, and the
    # number of file lines before the line it starts on.
    dynamic: str | None = None
    dynamic_offset: int = 0
    # The walker could not read these tokens (e.g. a routine body that does not tokenize).
    error: str | None = None
    # Where the statement starts when `tokens` are only its query (`OPEN c FOR <query>`).
    anchor: Token | None = None
    # T-SQL `INSERT INTO t [(cols)] EXEC proc`: tokens are the INSERT up to EXEC, `call` the proc.
    insert_exec: bool = False
    # Inside a T-SQL trigger: the table whose rows `inserted` / `deleted` hold.
    trigger_table: TableRef | None = None

    @property
    def line(self) -> int:
        first = self.anchor if self.anchor is not None else self.tokens[0] if self.tokens else None
        return start_line(first) + self.line_offset if first is not None else self.line_offset + 1


@dataclass
class Batch:
    """What a walker works through: a token stream, the text it came from, its place in the file."""

    tokens: list[Token]
    sql: str
    line_offset: int
    # Turns the tokens of a dotted name into a routine reference (the extraction context's names).
    routine_ref: Callable[[Sequence[Token]], TableRef | None]
    # Tokenizes a routine body or dynamic SQL text (the dialect's plain tokenizer).
    tokenize: Callable[[str], list[Token]]
    words: Words = field(init=False)

    def __post_init__(self) -> None:
        self.words = Words(self.tokens)

    def nested(self, text: str, line_offset: int) -> Batch:
        """A batch for text found inside this one (a routine body, a dynamic SQL literal)."""
        return Batch(self.tokenize(text), text, line_offset, self.routine_ref, self.tokenize)


class Words:
    """`word(token)` for each token, computed when first asked for: the fast path of a plain
    script looks at a handful of tokens per statement, not at all of them."""

    __slots__ = ("_tokens", "_words")

    def __init__(self, tokens: Sequence[Token]) -> None:
        self._tokens = tokens
        self._words: list[str | None] = [None] * len(tokens)

    def __getitem__(self, index: int) -> str:
        found = self._words[index]
        if found is None:
            token = self._tokens[index]
            previous = self._tokens[index - 1] if index else None
            if previous is not None and previous.token_type is TokenType.PARAMETER and previous.end + 1 == token.start:
                found = ""  # a variable name (`@end`, `@begin`) is never a keyword
            else:
                found = word(token)
            self._words[index] = found
        return found

    def __len__(self) -> int:
        return len(self._words)


def word(token: Token) -> str:
    """The token's text in upper case if it can be a keyword, '' for strings and quoted names."""
    return "" if token.token_type in QUOTED else token.text.upper()


def start_line(token: Token) -> int:
    """The line a token starts on (sqlglot records where it ends)."""
    text = token.text
    return token.line - text.count("\n") if "\n" in text else token.line


def deepest(tokens: Sequence[Token]) -> int:
    depth = most = 0
    for token in tokens:
        if token.token_type is L_PAREN:
            depth += 1
            if depth > most:
                most = depth
        elif token.token_type is R_PAREN:
            depth -= 1
    return most


def span_text(tokens: Sequence[Token], sql: str) -> str:
    """The source text a run of tokens covers."""
    return sql[tokens[0].start : tokens[-1].end + 1] if tokens else ""


_PLAIN_TOKENIZERS: dict[type, type[Tokenizer]] = {}
_INSTANCES = threading.local()


def plain_tokenizer(dialect: Dialect) -> Tokenizer:
    """The dialect's tokenizer without its "command" mode.

    sqlglot's tokenizer swallows everything after a command keyword at a statement start (T-SQL
    `PRINT`, BigQuery `BEGIN`, `CALL`, ...) into one string token up to the next semicolon, which
    would hide the statements of a procedural block. The walkers need every token; statements
    that start with a command keyword are re-tokenized with the real tokenizer before parsing.
    """
    instances: dict[type, Tokenizer] = _INSTANCES.__dict__.setdefault("by_dialect", {})
    instance = instances.get(type(dialect))
    if instance is None:
        base = dialect.tokenizer_class
        plain = _PLAIN_TOKENIZERS.get(base)
        if plain is None:
            plain = type(f"Plain{base.__name__}", (base,), {"COMMANDS": set()})
            _PLAIN_TOKENIZERS[base] = plain
        # One instance per thread and dialect: a tokenizer keeps state while it runs.
        instance = instances[type(dialect)] = plain(dialect=dialect)
    return instance
