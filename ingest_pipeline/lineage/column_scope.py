"""What column resolution works on: the output columns of a query, the relations it reads, its scope.

Modelled on `sqlglot.optimizer.scope`, but built while the resolver walks the statement (no
separate traversal, no qualification pass): a `Scope` holds the relations of one SELECT's FROM
clause, each a `Source` that knows which columns it outputs, and points at the enclosing query's
scope for correlated references.

Column sources are frozensets of `ColumnRef` and, for unqualified columns the file alone cannot
place, `Choice` (model.py), which travel with them until the catalog decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Union

from sqlglot import exp

from ingest_pipeline.lineage.model import STAR, Choice, ColumnRef, TableRef

Ref = Union[ColumnRef, Choice]
Refs = frozenset[Ref]
EMPTY: Refs = frozenset()


class Out:
    """One output column of a query; `name is None` for a star entry (columns unknown here)."""

    __slots__ = ("name", "sources", "defined", "listed")

    def __init__(self, name: str | None, sources: Refs, defined: tuple[ColumnRef, ...] = (), listed: bool = True) -> None:
        self.name = name
        self.sources = sources
        # Star entries: the star refs that name this entry's columns in a definition.
        self.defined = defined
        # False for `* REPLACE` outputs: the star that precedes them already lists the column.
        self.listed = listed


class Source:
    """A relation a query selects from: a base table, a derived table / CTE, or a table function."""

    __slots__ = ("kind", "table", "outputs", "deps", "names", "query", "env", "_named", "_stars", "pivot")

    def __init__(
        self,
        kind: str,
        table: TableRef | None = None,
        outputs: list[Out] | None = None,
        deps: Refs = EMPTY,
        names: list[str] | None = None,
    ) -> None:
        self.kind = kind  # "table", "derived" or "func"
        self.table = table
        self.outputs = outputs or []
        self.deps = deps
        self.names = names
        # Derived tables: the query that defines them and its CTE environment (for `count(*)`).
        self.query: exp.Expression | None = None
        self.env: dict[str, Cte] | None = None
        self._named: dict[str, Refs] | None = None
        self._stars: list[Out] | None = None
        # Pivoted relation: (output name -> sources, names the pivot consumes).
        self.pivot: tuple[dict[str, Refs], frozenset[str]] | None = None

    def named(self) -> dict[str, Refs]:
        if self._named is None:
            named: dict[str, Refs] = {}
            stars = []
            for out in self.outputs:
                if out.name is None:
                    stars.append(out)
                else:
                    named[out.name] = named.get(out.name, EMPTY) | out.sources
            self._named, self._stars = named, stars
        return self._named

    def stars(self) -> list[Out]:
        self.named()
        return self._stars or []

    def knows(self, name: str) -> bool:
        """True when the relation is known to output a column of this name."""
        if self.pivot is not None and name in self.pivot[0]:
            return True
        if self.kind == "derived":
            return name in self.named()
        if self.kind == "func":
            return self.names is not None and name in self.names
        return False

    def may_have(self, name: str) -> bool:
        """True when the relation may output a column of this name (its columns are not all known)."""
        if self.kind == "table":
            return self.pivot is None or name not in self.pivot[1]
        if self.kind == "derived":
            return any(_star_may_have(out, name) for out in self.stars())
        # A table function over whole tables (STREAM(t)) has their columns.
        return self.names is None and any(ref.is_star for ref in self.deps)


def _star_may_have(out: Out, name: str) -> bool:
    return any(not ref.is_star or name not in ref.excluded for ref in out.sources) or not out.sources


class Scope:
    """The relations of one query level, by the names they are referred to."""

    __slots__ = ("sources", "keys", "aliases", "parent", "using", "table_names", "lateral", "rows")

    def __init__(self, parent: Scope | None) -> None:
        self.sources: list[Source] = []
        self.keys: dict[str, Source] = {}
        # Keys that are explicit aliases (`t AS a`), not table names.
        self.aliases: set[str] = set()
        self.parent = parent
        # Columns of JOIN ... USING (...): their value comes from every side that has them.
        self.using: set[str] = set()
        # Aliased tables by their own name: `orders.*` still means `sales.orders AS o`.
        self.table_names: dict[str, Source] | None = None
        # Select-list aliases defined so far, for dialects that allow lateral references to them.
        self.lateral: dict[str, Refs] | None = None
        # What the number of rows depends on, once a `count(*)` asked (`Relations.scope_rows`).
        self.rows: Refs | None = None

    def add(self, source: Source, key: str | None, alias: bool = False, table_name: str | None = None) -> None:
        self.sources.append(source)
        if key and key not in self.keys:
            self.keys[key] = source
            if alias:
                self.aliases.add(key)
        if alias and table_name:
            if self.table_names is None:
                self.table_names = {}
            self.table_names.setdefault(table_name, source)

    def without(self, dropped: Source) -> Scope:
        """The same relations, but an unqualified column is never one of `dropped`'s (a MERGE
        clause in which it has no row); a column qualified by its name still resolves."""
        kept = Scope(self.parent)
        kept.sources = [source for source in self.sources if source is not dropped]
        kept.keys, kept.aliases, kept.using = dict(self.keys), set(self.aliases), set(self.using)
        kept.table_names = dict(self.table_names) if self.table_names is not None else None
        return kept

    def lookup(self, key: str) -> Source | None:
        """The relation a qualifier names: an alias or table name here or in an enclosing query,
        else an aliased table by its own name."""
        scope: Scope | None = self
        while scope is not None:
            found = scope.keys.get(key)
            if found is not None:
                return found
            scope = scope.parent
        scope = self
        while scope is not None:
            if scope.table_names is not None and key in scope.table_names:
                return scope.table_names[key]
            scope = scope.parent
        return None


class Cte:
    __slots__ = ("node", "env", "columns")

    def __init__(self, node: exp.CTE, env: dict[str, Cte] | None, columns: list[str]) -> None:
        self.node = node
        self.env = env
        self.columns = columns


# ------------------------------------------------------------------------------------------------
# Column refs
# ------------------------------------------------------------------------------------------------


def union(groups: Iterable[Refs]) -> Refs:
    result: set[Ref] = set()
    for group in groups:
        result.update(group)
    return frozenset(result)


def exclude(ref: ColumnRef, names: set[str]) -> ColumnRef:
    if not ref.is_star or not names:
        return ref
    return ColumnRef(ref.table, STAR, tuple(sorted(set(ref.excluded) | names)))


def choose(name: str, groups: Iterable[Refs], alias: Refs | None = None) -> Refs:
    """An unqualified column that each group (one per candidate relation) may be.

    Candidate columns of more than one table become one `Choice` for the catalog to settle; with
    `alias` (a lateral reference) the choice falls back to the alias's sources. Other refs (the
    arguments of a table function that passes whole tables through) are kept as they are.
    """
    candidates: set[ColumnRef] = set()
    kept: set[Ref] = set()
    for group in groups:
        for ref in group:
            if type(ref) is Choice and not ref.lateral:
                candidates.update(ref.candidates)
            elif type(ref) is ColumnRef and ref.column == name and not ref.excluded and not ref.rows:
                candidates.add(ref)
            else:
                kept.add(ref)
    if alias is not None:
        if not candidates:
            return alias | kept
        plain = tuple(sorted(ref for ref in alias if type(ref) is ColumnRef))
        nested = tuple(sorted(ref for ref in alias if type(ref) is Choice))
        kept.add(Choice(tuple(sorted(candidates)), True, plain, nested))  # type: ignore[arg-type]
        return frozenset(kept)
    if len(candidates) < 2:
        return frozenset(kept | candidates)
    kept.add(Choice(tuple(sorted(candidates))))
    return frozenset(kept)


# ------------------------------------------------------------------------------------------------
# Output lists
# ------------------------------------------------------------------------------------------------


def items(node: exp.Expression) -> list[exp.Expression]:
    """A node's `expressions` as a list, also when a dialect's parser put a single node there."""
    found = node.args.get("expressions")
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def rename(outputs: list[Out], names: list[str]) -> list[Out]:
    """Positional column aliases (`AS d(x, y)`, `CTE c(x, y)`, a view's column list)."""
    if not names:
        return outputs
    renamed = []
    for position, out in enumerate(outputs):
        if position >= len(names) or out.name is None:
            renamed.extend(outputs[position:])
            break
        renamed.append(Out(names[position], out.sources, listed=out.listed))
    else:
        # More names than outputs: the remaining names are columns of unknown origin.
        renamed.extend(Out(name, EMPTY) for name in names[len(outputs) :])
    return renamed


def combine(left: list[Out], right: list[Out], by_name: bool) -> list[Out]:
    """Columns of a set operation: the left branch's names, sources of both branches."""
    if by_name:
        right_named = {out.name: out.sources for out in right if out.name is not None}
        right_stars = union(out.sources for out in right if out.name is None)
        combined = [
            Out(out.name, out.sources | right_named.get(out.name, right_stars) if out.name else out.sources | right_stars, out.defined, out.listed)
            for out in left
        ]
        left_names = {out.name for out in left}
        combined.extend(out for out in right if out.name is not None and out.name not in left_names)
        return combined
    combined = []
    for position, out in enumerate(left):
        if position >= len(right):
            combined.append(out)
            continue
        other = right[position]
        if (out.name is None) != (other.name is None):
            # The branches' widths cannot be aligned past a star: each remaining column of the
            # left branch may come from any remaining column of the right one.
            rest = union(o.sources for o in right[position:])
            combined.extend(Out(o.name, o.sources | rest, o.defined, o.listed) for o in left[position:])
            return combined
        combined.append(Out(out.name, out.sources | other.sources, out.defined, out.listed))
    return combined


def by_position(columns: list[str], outputs: list[Out]) -> list[tuple[str, Refs]]:
    """Map an INSERT column list onto the query's outputs; a star covers the columns between the
    outputs before it and those after it."""
    stars = [i for i, out in enumerate(outputs) if out.name is None]
    if not stars:
        return [(column, out.sources) for column, out in zip(columns, outputs)]
    first, last = stars[0], stars[-1]
    head = [(column, out.sources) for column, out in zip(columns, outputs[:first])]
    tail_outputs = outputs[last + 1 :]
    tail_start = max(len(columns) - len(tail_outputs), first)
    tail = [(column, out.sources) for column, out in zip(columns[tail_start:], tail_outputs)]
    middle = union(out.sources for out in outputs[first : last + 1])
    return [*head, *((column, middle) for column in columns[first:tail_start]), *tail]
