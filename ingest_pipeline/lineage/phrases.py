"""Teradata attribute phrases on select items, made parseable without hiding the column.

`SELECT amount (FORMAT 'Z9.99') (TITLE 'Amount'), id (NAMED customer_id) FROM t`: sqlglot parses
`(FORMAT ...)` only, and fails on `(TITLE ...)` / `(NAMED ...)`, so the whole statement would be
an ERROR. `blank_attribute_phrases` rewrites the text before parsing: a phrase list becomes
spaces, `(NAMED x)` becomes `AS x` (the name it gives the column) unless an alias follows. Every
other character keeps its offset, so lines and columns in error messages stay true.

A parenthesised list is a phrase list when each item is an attribute phrase (`FORMAT 'fmt'`,
`TITLE 'title'`, `NAMED name`, `[NOT] CASESPECIFIC`, `UPPERCASE`) or a data type (`DATE`,
`CHAR(10)`, `DECIMAL(10, 2)`), at least one is a phrase, and it follows a value (a name, a
literal or a closing parenthesis), so function calls such as `f(FORMAT('%d', x))` are untouched.
"""

from __future__ import annotations

import re

from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

_MAYBE = re.compile(r"\b(?:TITLE|NAMED|FORMAT|CASESPECIFIC|UPPERCASE)\b", re.IGNORECASE)
_VALUE_ENDS = frozenset({TokenType.R_PAREN, TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING, TokenType.NUMBER})
_NAMES = frozenset({TokenType.VAR, TokenType.IDENTIFIER})


def blank_attribute_phrases(text: str, dialect: Dialect) -> str:
    """`text` with Teradata attribute phrase lists blanked (see the module docstring)."""
    if not _MAYBE.search(text):
        return text
    try:
        tokens = dialect.tokenize(text)
    except Exception:  # noqa: BLE001 - the parser reports malformed text itself
        return text
    chars = list(text)
    i = 1
    while i < len(tokens):
        token = tokens[i]
        if token.token_type is TokenType.L_PAREN and _ends_value(tokens[i - 1]):
            end, name = _phrase_list(tokens, i + 1)
            if end is not None:
                follows_alias = end + 1 < len(tokens) and (tokens[end + 1].token_type is TokenType.ALIAS or tokens[end + 1].token_type in _NAMES)
                _blank(chars, token.start, tokens[end].end, name if not follows_alias else None)
                i = end + 1
                continue
        i += 1
    return "".join(chars)


def _ends_value(token: Token) -> bool:
    return token.token_type in _VALUE_ENDS or (token.text.isidentifier() and token.text.upper() not in _NOT_VALUES)


_NOT_VALUES = frozenset({"SELECT", "DISTINCT", "WHERE", "AND", "OR", "NOT", "ON", "IN", "BY", "AS", "THEN", "ELSE", "WHEN", "CASE", "FROM", "JOIN", "USING", "VALUES", "RETURNS"})


def _phrase_list(tokens: list[Token], start: int) -> tuple[int | None, Token | None]:
    """(index of the closing parenthesis, the NAMED name) when tokens[start:] is a phrase list."""
    i, phrases, name = start, 0, None
    while i < len(tokens):
        word = tokens[i].text.upper()
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if word in ("FORMAT", "TITLE") and nxt is not None and nxt.token_type is TokenType.STRING:
            i, phrases = i + 2, phrases + 1
        elif word == "NAMED" and nxt is not None and (nxt.token_type in _NAMES or nxt.text.isidentifier()):
            i, phrases, name = i + 2, phrases + 1, nxt
        elif word in ("CASESPECIFIC", "UPPERCASE"):
            i, phrases = i + 1, phrases + 1
        elif word == "NOT" and nxt is not None and nxt.text.upper() == "CASESPECIFIC":
            i, phrases = i + 2, phrases + 1
        elif tokens[i].text.isidentifier():
            i = _skip_type(tokens, i + 1)
        else:
            return None, None
        if i >= len(tokens):
            return None, None
        if tokens[i].token_type is TokenType.R_PAREN:
            return (i, name) if phrases else (None, None)
        if tokens[i].token_type is not TokenType.COMMA:
            return None, None
        i += 1
    return None, None


def _skip_type(tokens: list[Token], i: int) -> int:
    """Past a data type's `(n[, m])` arguments, if any."""
    if i < len(tokens) and tokens[i].token_type is TokenType.L_PAREN:
        j = i + 1
        while j < len(tokens) and tokens[j].token_type in (TokenType.NUMBER, TokenType.COMMA):
            j += 1
        if j < len(tokens) and tokens[j].token_type is TokenType.R_PAREN:
            return j + 1
    return i


def _blank(chars: list[str], start: int, end: int, name: Token | None) -> None:
    """Spaces over chars[start:end + 1] (newlines kept); with `name`, `AS` at the start and the
    name left where it is."""
    for offset in range(start, end + 1):
        if chars[offset] != "\n" and (name is None or not name.start <= offset <= name.end):
            chars[offset] = " "
    if name is not None:
        chars[start : start + 2] = ["A", "S"]
