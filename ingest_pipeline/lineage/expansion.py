"""A statement's column edges settled against the corpus catalog (`lineage.catalog`).

Pure functions over the lineage model: extraction saw one file and left what needs schemas open;
`expand_stars` decides it with the catalog of every definition in the corpus, at write time.

* **Stars.** A star source of a named target (`ARRAY_AGG(t)`, an INSERT column fed by a `*`)
  depends on every column of its table: `t.*` becomes `t.a, t.b, ...` (minus the star's excluded
  columns). A star target passes columns through by name: `v.* <- s.*` becomes `v.a <- s.a`,
  `v.b <- s.b`; several star sources of one star target each give the columns they have. A
  catalog entry's `"*"` keeps a star edge for the unknown remainder. When the catalog fully knows
  the target's columns (MERGE ... INSERT *, INSERT BY NAME), names it lacks are dropped. A named
  column next to an unexpanded star of the same table (`SELECT f1, * FROM t`) is already passed
  through by the star and is not repeated.
* **Rows.** `count(*)` sources (`ColumnRef.rows`) stay `t.*`: they depend on the rows of t, not
  on its columns.
* **Choices.** An unqualified column that several tables may have goes to the candidates the
  catalog knows to have it; when it knows none, to every candidate it does not know to lack it
  (all of them if it knows each lacks it), and those sources are listed in `ambiguous`. A lateral
  reference goes to the earlier select-list alias unless a candidate table is known to have the
  column.
* **Set operations with stars.** Branches (`ColumnLineage.branch`) are aligned by position once
  their stars are expanded: the first branch names the columns, each later branch contributes its
  i-th column to the i-th; past a star of unknown width the remaining columns of a later branch
  are matched by name, as without a catalog; columns beyond the first branch's width are dropped.
* **Positions.** INSERT without a column list (`StatementLineage.positional`): when the catalog
  knows the target's columns, the i-th output column is renamed to the target's i-th column, up to
  the first output whose width is still unknown. Output positions are renumbered after expansion.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ingest_pipeline.lineage.catalog import Catalog, has_column
from ingest_pipeline.lineage.model import STAR, Choice, ColumnLineage, ColumnRef, StatementLineage, TableRef


class _Slot:
    """One target column (or a star of unknown width) while a statement is expanded."""

    __slots__ = ("target", "sources", "ambiguous", "known_width", "branch", "from_star")

    def __init__(
        self, target: ColumnRef, sources: set[ColumnRef], ambiguous: set[ColumnRef], known_width: bool, branch: int, from_star: bool
    ) -> None:
        self.target = target
        self.sources = sources
        self.ambiguous = ambiguous
        self.known_width = known_width
        self.branch = branch
        # Produced by expanding a star target (rather than named in the query).
        self.from_star = from_star

    def absorb(self, sources: set[ColumnRef], ambiguous: set[ColumnRef]) -> None:
        self.ambiguous = (self.ambiguous | ambiguous) - (self.sources - self.ambiguous) - (sources - ambiguous)
        self.sources = self.sources | sources


def expand_stars(statement: StatementLineage, catalog: Catalog) -> list[ColumnLineage]:
    """The statement's column edges with stars expanded and choices settled from the catalog."""
    positional = set(statement.positional)
    ordered = {edge.target.table for edge in statement.columns if edge.position == 0}
    slots: list[_Slot] = []
    for edge in statement.columns:
        sources, ambiguous = _settle(edge, catalog)
        target = edge.target
        if not target.is_star:
            slots.append(_Slot(target, _expand_sources(sources, catalog), ambiguous, True, edge.branch, False))
            continue
        expanded = _expand_star_target(target, sources, catalog)
        slots.extend(_Slot(t, s, ambiguous & s, width, edge.branch, True) for t, s, width in expanded)
    slots = _keep_known(_align_branches(slots), catalog, positional)
    slots = _drop_covered(slots, {t for t in positional if catalog.get(t.fqn)})
    slots = _map_positions(slots, statement.positional, catalog)
    return _merge(slots, ordered)


# ------------------------------------------------------------------------------------------------
# Choices
# ------------------------------------------------------------------------------------------------


def _settle(edge: ColumnLineage, catalog: Catalog) -> tuple[set[ColumnRef], set[ColumnRef]]:
    """(sources, the ambiguous ones among them) of an extracted edge, its choices decided."""
    sources = set(edge.sources)
    certain = set(edge.sources)
    ambiguous: set[ColumnRef] = set()
    for choice in edge.choices:
        picked, unsure = _decide(choice, catalog)
        sources |= picked
        certain |= picked - unsure
        ambiguous |= unsure
    return sources, ambiguous - certain


def _decide(choice: Choice, catalog: Catalog) -> tuple[set[ColumnRef], set[ColumnRef]]:
    verdicts = [has_column(catalog, ref.table.fqn, ref.column) for ref in choice.candidates]
    if True in verdicts:
        picked = {ref for ref, verdict in zip(choice.candidates, verdicts) if verdict}
    elif choice.lateral:
        picked, ambiguous = set(choice.alias), set()
        for inner in choice.alias_choices:
            inner_picked, inner_ambiguous = _decide(inner, catalog)
            picked |= inner_picked
            ambiguous |= inner_ambiguous
        return picked, ambiguous - set(choice.alias)
    else:
        picked = {ref for ref, verdict in zip(choice.candidates, verdicts) if verdict is None} or set(choice.candidates)
    return picked, (set(picked) if len(picked) > 1 else set())


# ------------------------------------------------------------------------------------------------
# Stars
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


def _expand_star_target(target: ColumnRef, sources: Iterable[ColumnRef], catalog: Catalog) -> list[tuple[ColumnRef, set[ColumnRef], bool]]:
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


def _keep_known(slots: list[_Slot], catalog: Catalog, positional: set[TableRef]) -> list[_Slot]:
    """Columns passed through by name into a table whose columns are known: only those exist."""

    def exists(slot: _Slot) -> bool:
        known = catalog.get(slot.target.table.fqn)
        if not slot.from_star or slot.target.is_star or not known or STAR in known or slot.target.table in positional:
            return True
        return slot.target.column in known

    return [slot for slot in slots if exists(slot)]


def _drop_covered(slots: list[_Slot], renamed_by_position: set[TableRef]) -> list[_Slot]:
    """Named columns that an unexpanded star of the same target already passes through."""
    stars: dict[TableRef, set[ColumnRef]] = {}
    for slot in slots:
        if slot.target.is_star and not slot.known_width:
            stars.setdefault(slot.target.table, set()).update(ref for ref in slot.sources if ref.is_star)
    if not stars:
        return slots

    def covered(slot: _Slot) -> bool:
        table, name = slot.target.table, slot.target.column
        through = stars.get(table)
        if slot.from_star or not through or table in renamed_by_position or not slot.sources:
            return False
        return all(
            ref.column == name and any(star.table == ref.table and name not in star.excluded for star in through)
            for ref in slot.sources
        )

    return [slot for slot in slots if not covered(slot)]


# ------------------------------------------------------------------------------------------------
# Positions
# ------------------------------------------------------------------------------------------------


def _align_branches(slots: list[_Slot]) -> list[_Slot]:
    """Set-operation branches of one target aligned by position onto the first branch."""
    branched = {slot.target.table for slot in slots if slot.branch}
    if not branched:
        return slots
    aligned: list[_Slot] = []
    for table in dict.fromkeys(slot.target.table for slot in slots):
        own = [slot for slot in slots if slot.target.table == table]
        if table not in branched:
            aligned.extend(own)
            continue
        base = [slot for slot in own if slot.branch == 0]
        for branch in sorted({slot.branch for slot in own} - {0}):
            _align(base, [slot for slot in own if slot.branch == branch])
        aligned.extend(base)
    return aligned


def _align(base: list[_Slot], other: list[_Slot]) -> None:
    for i, slot in enumerate(other):
        if not (all(s.known_width for s in base[: i + 1]) and all(s.known_width for s in other[: i + 1])):
            # Past a star of unknown width positions cannot be told: the rest passes by name.
            for rest in other[i:]:
                rest.branch = 0
                base.append(rest)
            return
        if i < len(base):
            base[i].absorb(slot.sources, slot.ambiguous)
        # else: a column beyond the first branch's width, an error in SQL: dropped.


def _map_positions(slots: list[_Slot], positional: Sequence[TableRef], catalog: Catalog) -> list[_Slot]:
    """Rename positional INSERT targets' columns to the target's columns at the same positions."""
    for table in positional:
        columns = catalog.get(table.fqn)
        if not columns:
            continue
        position = 0
        for slot in slots:
            if slot.target.table != table:
                continue
            if not slot.known_width or position >= len(columns) or columns[position] == STAR:
                break
            slot.target = ColumnRef(table, columns[position])
            position += 1
    return slots


def _merge(slots: list[_Slot], ordered: set[TableRef]) -> list[ColumnLineage]:
    """One edge per named target (sources merged), star edges deduplicated, positions numbered."""
    rows: list[tuple[ColumnRef, _Slot, int | None]] = []
    index: dict[ColumnRef, int] = {}
    counters: dict[TableRef, int | None] = {table: 0 for table in ordered}
    for slot in slots:
        table = slot.target.table
        position = counters.get(table)
        if table in counters:
            counters[table] = position + 1 if position is not None and slot.known_width else None
        if not slot.target.is_star:
            at = index.get(slot.target)
            if at is not None:
                rows[at][1].absorb(slot.sources, slot.ambiguous)
                continue
            index[slot.target] = len(rows)
        elif any(row[0] == slot.target and row[1].sources == slot.sources for row in rows):
            continue
        rows.append((slot.target, slot, position))
    return [
        ColumnLineage(target, sorted(slot.sources), ambiguous=sorted(slot.ambiguous), position=position)
        for target, slot, position in rows
    ]
