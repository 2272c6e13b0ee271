"""Star expansion against a schema catalog built from the corpus itself.

Pure functions over the lineage model (no sqlglot): the caller collects every statement's
`defined_columns` (CREATE TABLE / CTAS / CREATE VIEW / SELECT INTO, keyed by the written table's
fqn; a later definition of the same table replaces an earlier one), turns them into a catalog with
`build_catalog`, and expands each statement's column edges with `expand_stars`. `star_tables`
says which definitions an expansion depended on, so the caller can refresh a file's expanded
edges when one of those definitions changes.

Catalog: table fqn -> ordered column names. A name `"*"` in a catalog entry marks columns that
could not be resolved (a star over a table nobody defines, or one on a definition cycle); the
other names are still known, so an entry can be partially known.

Expansion rules (`expand_stars`):

* A star source of a named target (`ARRAY_AGG(t)`, an INSERT column fed by a `*`) depends on every
  column of its table: `t.*` becomes `t.a, t.b, ...` (minus the star's excluded columns).
* A star target passes columns through by name: `v.* <- s.*` becomes `v.a <- s.a`, `v.b <- s.b`;
  several star sources of one star target (a UNION of stars) each give the columns they have.
  A catalog entry's `"*"` keeps a star edge for the unknown remainder. When the catalog fully knows
  the target's columns (MERGE ... INSERT *, INSERT BY NAME), names it lacks are dropped.
* Positional targets (INSERT without a column list, `StatementLineage.positional`): when the
  catalog knows the target's columns, the i-th output column is renamed to the target's i-th
  column, up to the first output whose width is still unknown.
* Unqualified columns with several candidate tables. At extraction (one file, no catalog) a
  column is attributed to the sources known to output it (CTEs, derived tables, aliased UNNEST),
  else to the whole row of a source of that alias, else to *every* source that may have it (base
  tables, stars): an over-approximation rather than a lost dependency (`column_extract`). Here
  the catalog then disambiguates: among the sources of one edge that share a column name, a
  table the catalog fully knows (no `"*"`) and that lacks the name is dropped when another table
  of the group is known to have it. Without such knowledge every candidate is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ingest_pipeline.lineage.model import STAR, ColumnLineage, ColumnRef, StatementLineage, TableRef

Catalog = Mapping[str, Sequence[str]]


def build_catalog(definitions: Mapping[str, Sequence[ColumnRef]]) -> dict[str, list[str]]:
    """Table fqn -> ordered column names, star placeholders resolved through other definitions.

    A star over a table with no definition, or over a table on the same definition cycle, stays
    `"*"`. Names are unique per table (first occurrence wins).
    """
    graph = {
        fqn: sorted({ref.table.fqn for ref in refs if ref.is_star and ref.table.fqn in definitions})
        for fqn, refs in definitions.items()
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
                names.extend(name for name in catalog[source] if name not in ref.excluded)
            catalog[fqn] = _unique(names)
    return catalog


def expand_stars(statement: StatementLineage, catalog: Catalog) -> list[ColumnLineage]:
    """The statement's column edges with stars expanded where the catalog knows the columns."""
    slots: list[tuple[ColumnRef, set[ColumnRef], bool]] = []  # (target, sources, width known)
    positional = set(statement.positional)
    for edge in statement.columns:
        target = edge.target
        if target.is_star:
            expanded = _expand_star_target(target, edge.sources, catalog)
            known = catalog.get(target.table.fqn)
            if known and STAR not in known and target.table not in positional:
                # Passed through by name into a table whose columns are known: only those exist.
                expanded = [slot for slot in expanded if slot[0].is_star or slot[0].column in known]
            slots.extend(expanded)
        else:
            slots.append((target, _expand_sources(edge.sources, catalog), True))
    slots = _map_positions(slots, statement.positional, catalog)

    rows: list[tuple[ColumnRef, set[ColumnRef]]] = []
    index: dict[ColumnRef, int] = {}
    for target, sources, _ in slots:
        if not target.is_star:
            sources = _disambiguate(sources, catalog)
            at = index.get(target)
            if at is not None:
                rows[at][1].update(sources)
                continue
            index[target] = len(rows)
        elif (target, sources) in rows:
            continue
        rows.append((target, set(sources)))
    return [ColumnLineage(target, sorted(sources)) for target, sources in rows]


def star_tables(statement: StatementLineage, definitions: Mapping[str, Sequence[ColumnRef]] | None = None) -> set[str]:
    """Fqns of the tables whose catalog entries `expand_stars` consults for this statement.

    These are the tables of star sources, positional INSERT targets and tables sharing a column
    name within one edge (disambiguation). Pass `definitions` to close the set over the star
    placeholders of those tables' own definitions (a catalog entry depends on them too).
    """
    tables: set[str] = {t.fqn for t in statement.positional}
    for edge in statement.columns:
        by_name: dict[str, set[str]] = {}
        for source in edge.sources:
            if source.is_star:
                tables.add(source.table.fqn)
            else:
                by_name.setdefault(source.column, set()).add(source.table.fqn)
        for group in by_name.values():
            if len(group) > 1:
                tables.update(group)
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


# ------------------------------------------------------------------------------------------------


def _columns_of(ref: ColumnRef, catalog: Catalog) -> list[str] | None:
    """Known columns of a star ref's table (minus its excluded ones), `"*"` kept for the unknown part."""
    known = catalog.get(ref.table.fqn)
    if known is None:
        return None
    return [name for name in known if name == STAR or name not in ref.excluded]


def _expand_sources(sources: Iterable[ColumnRef], catalog: Catalog) -> set[ColumnRef]:
    expanded: set[ColumnRef] = set()
    for source in sources:
        names = _columns_of(source, catalog) if source.is_star else None
        if names is None:
            expanded.add(source)
            continue
        for name in names:
            expanded.add(source if name == STAR else ColumnRef(source.table, name))
    return expanded


def _expand_star_target(
    target: ColumnRef, sources: Iterable[ColumnRef], catalog: Catalog
) -> list[tuple[ColumnRef, set[ColumnRef], bool]]:
    """`T.* <- s.*, ...` passed through by name: one slot per known column, in catalog order, and
    a star slot (width unknown) where a catalog entry has its unknown part, or for unknown tables."""
    plain: set[ColumnRef] = set()
    order: list[str] = []
    per_name: dict[str, set[ColumnRef]] = {}
    unknown: set[ColumnRef] = set()
    star_at: int | None = None
    for source in sorted(sources):
        if not source.is_star:
            plain.add(source)
            continue
        names = _columns_of(source, catalog)
        if names is None:
            unknown.add(source)
            star_at = len(order) if star_at is None else star_at
            continue
        for name in names:
            if name == STAR:
                unknown.add(source)
                star_at = len(order) if star_at is None else star_at
            elif name not in per_name:
                per_name[name] = {ColumnRef(source.table, name)}
                order.append(name)
            else:
                per_name[name].add(ColumnRef(source.table, name))
    slots = [(ColumnRef(target.table, name), per_name[name] | plain, True) for name in order]
    if unknown or not order:
        slots.insert(len(order) if star_at is None else star_at, (target, unknown | plain, False))
    return slots


def _map_positions(
    slots: list[tuple[ColumnRef, set[ColumnRef], bool]], positional: Sequence[TableRef], catalog: Catalog
) -> list[tuple[ColumnRef, set[ColumnRef], bool]]:
    """Rename positional INSERT targets' columns to the target's columns at the same positions."""
    if not positional:
        return slots
    mapped = list(slots)
    for table in positional:
        columns = catalog.get(table.fqn)
        if not columns:
            continue
        position = 0
        for i, (target, sources, known_width) in enumerate(slots):
            if target.table != table:
                continue
            if not known_width or position >= len(columns) or columns[position] == STAR:
                break
            mapped[i] = (ColumnRef(table, columns[position]), sources, True)
            position += 1
    return mapped


def _disambiguate(sources: set[ColumnRef], catalog: Catalog) -> set[ColumnRef]:
    by_name: dict[str, list[ColumnRef]] = {}
    for source in sources:
        if not source.is_star:
            by_name.setdefault(source.column, []).append(source)
    dropped: set[ColumnRef] = set()
    for name, group in by_name.items():
        if len(group) < 2:
            continue
        entries = {ref: catalog.get(ref.table.fqn) for ref in group}
        if not any(entry is not None and name in entry for entry in entries.values()):
            continue
        dropped.update(
            ref for ref, entry in entries.items() if entry is not None and STAR not in entry and name not in entry
        )
    return sources - dropped if dropped else sources


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
