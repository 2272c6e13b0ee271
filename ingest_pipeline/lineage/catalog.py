"""The schema catalog built from the corpus itself: table fqn -> its ordered column names.

Pure functions over the lineage model (no sqlglot): the caller collects every statement's
`defined_columns` (CREATE TABLE / CTAS / CREATE VIEW / SELECT INTO, keyed by the written table's
fqn; a later definition of the same table replaces an earlier one), turns them into a catalog with
`build_catalog` (or `refresh_catalog` after a few definitions changed), and settles each
statement's column edges against it with `lineage.expansion.expand_stars`. `star_tables` says which
definitions an expansion depended on, so the caller can refresh a file's expanded edges when one of
those definitions changes.

A name `"*"` in a catalog entry marks columns that could not be resolved (a star over a table
nobody defines, or one on a definition cycle); the other names are still known, so an entry can be
partially known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ingest_pipeline.lineage.model import STAR, Choice, ColumnRef, StatementLineage

Catalog = Mapping[str, Sequence[str]]


def build_catalog(definitions: Mapping[str, Sequence[ColumnRef]]) -> dict[str, list[str]]:
    """Table fqn -> ordered column names, star placeholders resolved through other definitions.

    A star over a table with no definition, or over a table on the same definition cycle, stays
    `"*"`. Names are unique per table (first occurrence wins).
    """
    return _resolve(definitions, definitions.keys(), {})


def refresh_catalog(
    catalog: Catalog, definitions: Mapping[str, Sequence[ColumnRef]], changed: Iterable[str]
) -> dict[str, list[str]]:
    """`build_catalog(definitions)`, from the catalog of the definitions before the tables in
    `changed` were defined anew (added, altered or removed): only those tables and the ones whose
    stars read them, directly or through others, are resolved again. A run writing its chunks one
    by one refreshes the catalog per chunk; building it whole took 0.38 s at 23,000 definitions."""
    readers: dict[str, list[str]] = {}
    for fqn, refs in definitions.items():
        for ref in refs:
            if ref.is_star:
                readers.setdefault(ref.table.fqn, []).append(fqn)
    reached: set[str] = set()
    pending = list(changed)
    while pending:
        fqn = pending.pop()
        if fqn not in reached:
            reached.add(fqn)
            pending.extend(readers.get(fqn, ()))
    kept = {fqn: list(names) for fqn, names in catalog.items() if fqn not in reached and fqn in definitions}
    return {**kept, **_resolve(definitions, reached & definitions.keys(), kept)}


def _resolve(definitions: Mapping[str, Sequence[ColumnRef]], tables: Iterable[str], known: Catalog) -> dict[str, list[str]]:
    """Catalog entries of `tables`, reading the entries of other defined tables from `known`
    (which holds every defined table outside `tables` that a star of theirs reads)."""
    tables = set(tables)
    graph = {
        fqn: sorted({ref.table.fqn for ref in definitions[fqn] if ref.is_star and ref.table.fqn in tables})
        for fqn in tables
    }
    catalog: dict[str, list[str]] = {}
    for component in _strongly_connected(graph):
        members = set(component)
        cyclic = len(component) > 1 or any(fqn in graph[fqn] for fqn in component)
        for fqn in component:
            names: list[str] = []
            for ref in definitions[fqn]:
                if not ref.is_star:
                    names.append(ref.column)
                    continue
                source = ref.table.fqn
                if source not in definitions or (cyclic and source in members):
                    names.append(STAR)
                    continue
                resolved = catalog[source] if source in catalog else known[source]
                names.extend(name for name in resolved if name not in ref.excluded)
            catalog[fqn] = _unique(names)
    return catalog


def star_tables(statement: StatementLineage, definitions: Mapping[str, Sequence[ColumnRef]] | None = None) -> set[str]:
    """Fqns of the tables whose catalog entries `expand_stars` consults for this statement.

    These are the tables of star sources, positional INSERT targets and the candidate tables of
    unqualified columns (`Choice`). Pass `definitions` to close the set over the star placeholders
    of those tables' own definitions (a catalog entry depends on them too).
    """
    tables: set[str] = {t.fqn for t in statement.positional}
    pending_choices: list[Choice] = []
    for edge in statement.columns:
        tables.update(source.table.fqn for source in edge.sources if source.is_star)
        pending_choices.extend(edge.choices)
    while pending_choices:
        choice = pending_choices.pop()
        tables.update(ref.table.fqn for ref in choice.candidates)
        tables.update(ref.table.fqn for ref in choice.alias if ref.is_star)
        pending_choices.extend(choice.alias_choices)
    if definitions is not None:
        pending = list(tables)
        while pending:
            fqn = pending.pop()
            for ref in definitions.get(fqn, ()):
                source = ref.table.fqn
                if ref.is_star and source not in tables:
                    tables.add(source)
                    pending.append(source)
    return tables


def has_column(catalog: Catalog, fqn: str, name: str) -> bool | None:
    """Whether the catalog says table `fqn` has column `name`: None when it cannot tell (the table
    is not defined, or only partly known)."""
    known = catalog.get(fqn)
    if known is None:
        return None
    if name in known:
        return True
    return None if STAR in known else False


def _unique(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for name in names:
        if name not in seen:
            seen.add(name)
            result.append(name)
    return result


def _strongly_connected(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components come dependencies first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components
