"""What every statement of one file shares: the dialect, its name rules, file-level state."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

from ingest_pipeline.lineage.model import TableRef
from ingest_pipeline.lineage.names import Names, table_ref
from ingest_pipeline.lineage.pieces import plain_tokenizer


class Context:
    """Per-file extraction state. Statements are processed in file order, so `temporary` holds the
    temporary tables created so far (a later plain `t` is the temporary `t` created before it)."""

    def __init__(
        self, dialect: Dialect, dialect_name: str, family: str | None, columns: bool, deadline: float | None
    ) -> None:
        self.dialect = dialect
        self.dialect_name = dialect_name
        # 'tsql', 'oracle', 'mysql', 'postgres' or None (see script.family).
        self.family = family
        self.names = Names.of(dialect)
        self.columns = columns
        self.deadline = deadline
        self.temporary: set[TableRef] = set()
        # Session variables set to a string so far (Snowflake `SET v = 'db.t'`), by upper-case name.
        self.variables: dict[str, str] = {}
        self.command_types = frozenset(dialect.tokenizer_class.COMMANDS)
        self._plain = plain_tokenizer(dialect)
        self._with_names: dict[int, list[str]] = {}

    def tokenize(self, text: str) -> list[Token]:
        """Tokens for the walkers: the dialect's tokenizer without its command mode."""
        return self._plain.tokenize(text)

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def cte_names(self, with_: exp.With) -> list[str]:
        key = id(with_)
        names = self._with_names.get(key)
        if names is None:
            names = [self.names.ident(_alias_identifier(cte)) for cte in items(with_)]
            self._with_names[key] = names
        return names

    def new_statement(self) -> None:
        self._with_names.clear()

    def name_ref(self, tokens: Sequence[Token]) -> TableRef | None:
        """An object name from its tokens (`dbo.p`, `[s].[p]`, `` `p.d.proc` ``), normalised like a
        table name; None when the tokens are not a name."""
        table = self.table_node(tokens)
        return table_ref(self.names, table) if table is not None else None

    def table_node(self, tokens: Sequence[Token]) -> exp.Table | None:
        """The Table node a name's tokens spell, or None when they are not a name."""
        tokens = [t for t in tokens if t.token_type is not TokenType.SEMICOLON]
        if not tokens:
            return None
        try:
            parsed = self.dialect.parser().parse_into(exp.Table, tokens, "")
        except Exception:  # noqa: BLE001 - an odd name is no name, not a failure
            return None
        table = parsed[0] if parsed else None
        return table if isinstance(table, exp.Table) else None

    def table_from_text(self, text: str) -> exp.Table | None:
        """The Table node of an object name written in a string (`'sales.orders'`)."""
        try:
            return self.table_node(self.dialect.tokenize(text.strip()))
        except Exception:  # noqa: BLE001 - not a name
            return None

    def name_from_text(self, text: str) -> TableRef | None:
        """An object name written in a string (`'sales.orders'` passed to a function)."""
        table = self.table_from_text(text)
        return table_ref(self.names, table) if table is not None else None


def items(node: exp.Expression) -> list[exp.Expression]:
    """A node's `expressions` as a list, also when a dialect's parser put a single node there."""
    found = node.args.get("expressions")
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def _alias_identifier(cte: exp.Expression) -> exp.Expression | None:
    alias = cte.args.get("alias")
    return alias.this if isinstance(alias, exp.TableAlias) else None
