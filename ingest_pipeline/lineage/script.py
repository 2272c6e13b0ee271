"""Client-tool lines in SQL scripts: what sqlcmd, SSMS and SQL*Plus read before the server sees SQL.

These lines are not SQL and must not reach the parser:

* T-SQL (sqlcmd / SSMS): `GO [count]` ends a batch; `:setvar`, `:r`, `:on error`, `:connect` ...
  and `!! command` are SQLCMD commands; `$(name)` is replaced by its `:setvar` value (or its name);
  `<name, type, default>` is an SSMS template parameter, which makes the file a template.
* Oracle (SQL*Plus): a lone `/` ends a block; `PROMPT`, `REM`, `SET <option>`, `DEFINE`, `SPOOL`,
  `WHENEVER`, `@file` ... are SQL*Plus commands; `&name` / `&&name` is replaced by its `DEFINE`
  value (or its name); an `EXEC proc(...)` line is a call of its own.

* MySQL (mysql client): `DELIMITER //` makes `//` end statements (procedure dumps) until the
  next `DELIMITER ;`.
* PostgreSQL / Redshift (psql): a backslash line is a meta-command (`\\set`, `\\i file`,
  `\\connect` ...), except `\\copy ...`, the client-side COPY, which is read as a COPY statement.

`client_script` finds them outside strings and comments, blanks them (keeping every line break so
line numbers stay true) and cuts the text into batches. Other dialects have one batch: the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from sqlglot.dialects.dialect import Dialect

_SSMS_PARAMETER = re.compile(r"<[ \t]*@?[A-Za-z_][\w @#$]*,[^,<>\n]*,[^<>\n]*>")

_T = re.IGNORECASE
_TSQL_RULES = (
    (re.compile(r"[ \t]*GO(?:[ \t]+\d+)?[ \t]*(?:--[^\n]*)?(?=\r?\n|$)", _T), "BATCH"),
    (
        re.compile(
            r"[ \t]*(?::(?:setvar|r|on|connect|out|error|reset|ed|list|listvar|quit|exit|serverlist|xml|perftrace|help)\b"
            r"|!!)[^\n]*",
            _T,
        ),
        "SQLCMD",
    ),
)
_SQLPLUS_SET_OPTIONS = (
    "ECHO|FEED(?:BACK)?|SERVEROUT(?:PUT)?|DEF(?:INE)?|VER(?:IFY)?|TERM(?:OUT)?|PAGES(?:IZE)?|LINES(?:IZE)?|"
    "HEA(?:DING)?|TIMI(?:NG)?|TRIMS(?:POOL)?|TRIMO(?:UT)?|SQLBL(?:ANKLINES)?|LONG(?:CHUNKSIZE)?|NEWP(?:AGE)?|"
    "COLSEP|SCAN|ESC(?:APE)?|AUTOT(?:RACE)?|TAB|WRA(?:P)?|NUMW(?:IDTH)?|NUMF(?:ORMAT)?|ARRAY(?:SIZE)?|"
    "AUTO(?:COMMIT)?|CON(?:CAT)?|UND(?:ERLINE)?|SQLP(?:ROMPT)?|SQLT(?:ERMINATOR)?|EMB(?:EDDED)?|MARK(?:UP)?|"
    "NULL|APPI(?:NFO)?|SQLCASE|SQLCO(?:NTINUE)?|SQLN(?:UMBER)?|SUF(?:FIX)?|TIME|EXITC(?:OMMIT)?|ERRORL(?:OGGING)?"
)
_ORACLE_RULES = (
    (re.compile(r"[ \t]*/[ \t]*(?=\r?\n|$)"), "BATCH"),
    (re.compile(r"[ \t]*EXEC(?:UTE)?[ \t]+(?!IMMEDIATE\b)[^\n]*", _T), "LINE"),
    (
        re.compile(
            r"[ \t]*(?:REM(?:ARK)?\b|PRO(?:MPT)?\b|SPO(?:OL)?\b|WHENEVER\b|(?:EXIT|QUIT)\b(?![^\n]*\bWHEN\b)|DISC(?:ONNECT)?\b"
            r"|CONN(?:ECT)?\b(?![ \t]+BY\b)|SHO(?:W)?\b|TTI(?:TLE)?\b|BTI(?:TLE)?\b|CL(?:EAR)?[ \t]+\w|PAU(?:SE)?\b"
            r"|ACC(?:EPT)?\b|HO(?:ST)?\b|UNDEF(?:INE)?\b|DEF(?:INE)?\b|VARIABLE\b|STA(?:RT)?\b(?![ \t]+WITH\b)"
            r"|@@?(?=\S)|BRE(?:AK)?[ \t]+ON\b|COL(?:UMN)?[ \t]+\S+[ \t]+(?:FOR(?:MAT)?|HEA(?:DING)?|NEW_V(?:ALUE)?"
            r"|NOPRI(?:NT)?|CLE(?:AR)?|WRA(?:PPED)?|JUS(?:TIFY)?)\b"
            r"|SET[ \t]+(?:" + _SQLPLUS_SET_OPTIONS + r")\b(?![ \t]*=))[^\n]*",
            _T,
        ),
        "SQLPLUS",
    ),
)
# MySQL client: `DELIMITER //` makes `//` end statements until the next DELIMITER line.
_MYSQL_RULES = ((re.compile(r"[ \t]*DELIMITER[ \t]+(\S+)[^\n]*", _T), "DELIMITER"),)
# psql: `\copy ...` is a COPY run by the client (a statement of its own line); any other
# backslash line (`\set`, `\i file`, `\connect` ...) is a meta-command.
_PSQL_RULES = (
    (re.compile(r"[ \t]*\\copy\b[^\n]*", _T), "CLIENT_COPY"),
    (re.compile(r"[ \t]*\\[^\n]*"), "PSQL"),
)
_SETVAR = re.compile(r"[ \t]*:setvar[ \t]+(\w+)(?:[ \t]+(\"[^\"]*\"|\S+))?", _T)
_DEFINE = re.compile(r"[ \t]*DEF(?:INE)?[ \t]+(\w+)[ \t]*=[ \t]*('[^']*'|\"[^\"]*\"|\S+)", _T)
_DEFINE_OFF = re.compile(r"[ \t]*SET[ \t]+DEF(?:INE)?[ \t]+OFF\b", _T)
_SQLCMD_VARIABLE = re.compile(r"\$\((\w+)\)")
_SQLPLUS_VARIABLE = re.compile(r"&&?([A-Za-z_]\w*)\.?")

_RULES = {"tsql": _TSQL_RULES, "oracle": _ORACLE_RULES, "mysql": _MYSQL_RULES, "postgres": _PSQL_RULES}
_SPECIALS = {
    "tsql": re.compile(r"'|\"|\[|--|/\*|\n"),
    "oracle": re.compile(r"'|\"|--|/\*|\n"),
    "mysql": re.compile(r"'|\"|`|--|#|/\*|\n"),
    "postgres": re.compile(r"'|\"|--|/\*|\$\$|\n"),
}
_CLOSERS = {
    "'": re.compile(r"'(?:''|[^'])*'"),
    '"': re.compile(r'"(?:""|[^"])*"'),
    "[": re.compile(r"\[(?:\]\]|[^\]])*\]"),
    "`": re.compile(r"`(?:``|[^`])*`"),
    "$$": re.compile(r"\$\$.*?\$\$", re.DOTALL),
}
# MySQL strings also escape with a backslash (T-SQL's 'C:\data\' must not).
_MYSQL_CLOSERS = {**_CLOSERS, "'": re.compile(r"'(?:''|\\.|[^'\\])*'"), '"': re.compile(r'"(?:""|\\.|[^"\\])*"')}


@dataclass(frozen=True)
class Directive:
    """A client-tool command line (recorded as a statement of kind `kind`, never parsed as SQL)."""

    line: int
    kind: str
    text: str


@dataclass
class Batch:
    """SQL text sent to the server as one unit; `line_offset` lines of the file precede it."""

    text: str
    line_offset: int


@dataclass
class ClientScript:
    batches: list[Batch]
    directives: list[Directive] = field(default_factory=list)


@lru_cache(maxsize=None)
def _family_of(dialect_class: type) -> str | None:
    names = {cls.__name__ for cls in dialect_class.__mro__}
    for name, script_family in (("TSQL", "tsql"), ("Oracle", "oracle"), ("MySQL", "mysql"), ("Postgres", "postgres")):
        if name in names:
            return script_family
    return None


def family(dialect: Dialect) -> str | None:
    """'tsql', 'oracle', 'mysql' or 'postgres' when the dialect's scripts carry client-tool lines
    (PostgreSQL's family includes Redshift and the other dialects derived from it), else None."""
    return _family_of(type(dialect))


def template_parameter(text: str, script_family: str | None) -> tuple[str, int] | None:
    """(why the text is an SSMS template, the line) for `<name, type, default>` parameters, or None."""
    if script_family != "tsql" or "<" not in text:
        return None
    match = _SSMS_PARAMETER.search(text)
    if match is None:
        return None
    line = text.count("\n", 0, match.start()) + 1
    return f"SSMS template parameter {match.group(0)!r} at line {line}; specify the template parameters before ingesting", line


def client_script(text: str, script_family: str | None) -> ClientScript:
    """The text cut into batches, client-tool lines blanked and recorded as directives."""
    rules = _RULES.get(script_family or "")
    if rules is None or not any(rule.search(text) for rule in _line_start_rules(rules)):
        return ClientScript([Batch(_substitute(text, script_family, {}), 0)])
    closers = _MYSQL_CLOSERS if script_family == "mysql" else _CLOSERS
    scanner = _Scanner(text, rules, _SPECIALS[script_family or ""], closers)
    scanner.run()
    variables = _variables(scanner.directives, script_family)
    batches = []
    edited = scanner.edited()
    lines, counted = 0, 0
    for start, end in scanner.batch_spans():
        lines += edited.count("\n", counted, start)
        counted = start
        chunk = edited[start:end]
        if chunk.strip():
            batches.append(Batch(_substitute(chunk, script_family, variables), lines))
    return ClientScript(batches, scanner.directives)


def _line_start_rules(rules: tuple[tuple[re.Pattern[str], str], ...]) -> list[re.Pattern[str]]:
    return [re.compile(r"(?m)^" + rule.pattern, rule.flags) for rule, _ in rules]


class _Scanner:
    """Walks the text once, tracking strings and comments, and tests each code line start."""

    def __init__(
        self,
        text: str,
        rules: tuple[tuple[re.Pattern[str], str], ...],
        specials: re.Pattern[str],
        closers: dict[str, re.Pattern[str]],
    ) -> None:
        self.text = text
        self.rules = rules
        self.specials = specials
        self.closers = closers
        # (start, end, replacement): client lines become spaces, a custom delimiter becomes `;`.
        self.edits: list[tuple[int, int, str | None]] = []
        self.cuts: list[tuple[int, int]] = []
        self.directives: list[Directive] = []
        self.delimiter = ";"

    def run(self) -> None:
        text, line, pos = self.text, 1, 0
        pos = self._line_start(pos, line)
        while True:
            match = self.specials.search(text, pos)
            if match is None:
                return
            special = match.group()
            if special == "\n":
                line += 1
                pos = self._line_start(match.end(), line)
                continue
            if special in ("--", "#"):
                end = text.find("\n", match.end())
                pos = len(text) if end < 0 else end
            elif special == "/*":
                end = _comment_end(text, match.end())
                line += text.count("\n", match.start(), end)
                pos = end
            else:
                closed = self.closers[special].match(text, match.start())
                end = closed.end() if closed else len(text)
                line += text.count("\n", match.start(), end)
                pos = end

    def _line_start(self, pos: int, line: int) -> int:
        for rule, kind in self.rules:
            match = rule.match(self.text, pos)
            if match is None:
                continue
            end = match.end()
            if kind == "BATCH":
                self.cuts.append((pos, end))
                self.edits.append((pos, end, None))
            elif kind in ("LINE", "CLIENT_COPY"):
                self.cuts.append((pos, pos))
                self.cuts.append((end, end))
                if kind == "CLIENT_COPY":
                    # `\copy` is read as the COPY it runs: the backslash goes, offsets stay.
                    backslash = self.text.index("\\", pos)
                    self.edits.append((backslash, backslash + 1, None))
            else:
                self.directives.append(Directive(line, kind, match.group(0).strip()))
                self.edits.append((pos, end, None))
                if kind == "DELIMITER":
                    self.delimiter = match.group(1)
            return end
        if self.delimiter != ";":
            self._custom_delimiter(pos)
        return pos

    def _custom_delimiter(self, pos: int) -> None:
        """A line ending with the custom delimiter ends a statement there: it becomes `;`."""
        end = self.text.find("\n", pos)
        end = len(self.text) if end < 0 else end
        content = self.text[pos:end].rstrip()
        if content.endswith(self.delimiter):
            start = pos + len(content) - len(self.delimiter)
            self.edits.append((start, start + len(self.delimiter), ";"))

    def edited(self) -> str:
        parts, last = [], 0
        for start, end, replacement in self.edits:
            parts.append(self.text[last:start])
            original = self.text[start:end]
            parts.append(re.sub(r"[^\r\n]", " ", original) if replacement is None else replacement.ljust(len(original)))
            last = end
        parts.append(self.text[last:])
        return "".join(parts)

    def batch_spans(self) -> list[tuple[int, int]]:
        spans, start = [], 0
        for cut_start, cut_end in self.cuts:
            spans.append((start, cut_start))
            start = cut_end
        spans.append((start, len(self.text)))
        return spans


def _comment_end(text: str, pos: int) -> int:
    """End of a block comment opened just before pos; T-SQL and Oracle-era tools nest them."""
    depth = 1
    while depth:
        close = text.find("*/", pos)
        if close < 0:
            return len(text)
        opened = text.find("/*", pos, close)
        if opened >= 0:
            depth += 1
            pos = opened + 2
        else:
            depth -= 1
            pos = close + 2
    return pos


def _variables(directives: list[Directive], script_family: str | None) -> dict[str, str]:
    """:setvar (T-SQL) or DEFINE (SQL*Plus) values, by upper-case name; None when substitution is off."""
    values: dict[str, str] = {}
    pattern = _SETVAR if script_family == "tsql" else _DEFINE
    for directive in directives:
        if script_family == "oracle" and _DEFINE_OFF.match(directive.text):
            values["\0off"] = ""
        match = pattern.match(directive.text)
        if match and match.group(2):
            values[match.group(1).upper()] = match.group(2).strip("'\"")
    return values


def _substitute(text: str, script_family: str | None, variables: dict[str, str]) -> str:
    """Replace client variables with their values, or with their names when no value is known."""
    pattern: re.Pattern[str] | None = None
    if script_family == "tsql" and "$(" in text:
        pattern = _SQLCMD_VARIABLE
    elif script_family == "oracle" and "&" in text and "\0off" not in variables:
        pattern = _SQLPLUS_VARIABLE
    if pattern is None:
        return text
    replace: Callable[[re.Match[str]], str] = lambda m: variables.get(m.group(1).upper(), m.group(1))  # noqa: E731
    return pattern.sub(replace, text)
