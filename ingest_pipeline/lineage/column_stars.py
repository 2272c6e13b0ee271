"""Stars in a select list: `*` and `t.*` over the sources of a scope, with EXCEPT / REPLACE / RENAME.

Over a base table a star stays `ColumnRef(t, "*")` (its columns are the catalog's to tell);
over a derived table or CTE it gives that query's outputs, its own stars passed through.
`* EXCEPT (...)` / `* EXCLUDE (...)` leave columns out of a star; `* REPLACE (e AS c)` keeps c in
the definition's column list but derives it from e; `* RENAME (a AS b)` moves a out of the star
and appends b.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from ingest_pipeline.lineage.column_scope import Cte, Out, Refs, Scope, Source, exclude
from ingest_pipeline.lineage.model import STAR, ColumnRef

if TYPE_CHECKING:
    from ingest_pipeline.lineage.column_resolve import Resolver


def star_outputs(resolver: Resolver, scope: Scope, sources: list[Source], star: exp.Star, env: dict[str, Cte]) -> list[Out]:
    """The columns of `*` / `t.*` over `sources`, after the star's EXCEPT / REPLACE / RENAME."""
    excluded = {resolver.column_name(c.this if isinstance(c, exp.Column) else c) for c in star.args.get("except_") or ()}
    replaced = {
        resolver.column_name(a.args["alias"]): resolver.sources_of(scope, a.this, env)
        for a in star.args.get("replace") or ()
        if isinstance(a, exp.Alias) and a.args.get("alias") is not None
    }
    renamed = {
        resolver.column_name(a.this.this if isinstance(a.this, exp.Column) else a.this): resolver.column_name(a.args["alias"])
        for a in star.args.get("rename") or ()
        if isinstance(a, exp.Alias) and a.args.get("alias") is not None
    }
    outputs: list[Out] = []
    for source in sources:
        outputs.extend(source_star(resolver, source, excluded, replaced, renamed))
    return outputs


def source_star(
    resolver: Resolver,
    source: Source,
    excluded: set[str] | frozenset[str] = frozenset(),
    replaced: dict[str, Refs] | None = None,
    renamed: dict[str, str] | None = None,
) -> list[Out]:
    """The output columns `*` gives for one source, after EXCEPT / REPLACE / RENAME."""
    replaced = replaced or {}
    renamed = renamed or {}
    if source.kind == "func":
        if source.names is not None:
            return [Out(name, source.deps) for name in source.names if name not in excluded]
        return [Out(None, source.deps, tuple(sorted(ref for ref in source.deps if ref.is_star)))]  # type: ignore[misc]
    pivot_outputs: list[Out] = []
    consumed: frozenset[str] = frozenset()
    if source.pivot is not None:
        named, consumed = source.pivot
        pivot_outputs = [Out(name, sources) for name, sources in named.items() if name not in excluded]
    if source.kind == "table":
        assert source.table is not None
        base = ColumnRef(source.table, STAR)
        outputs = [_star_out(Out(None, frozenset((base,)), (base,)), excluded | consumed, replaced, renamed)]
        outputs.extend(_replaced_outputs(resolver, source, replaced, renamed, set()))
        return outputs + pivot_outputs
    outputs = []
    seen: set[str] = set()
    for out in source.outputs:
        if out.name is None:
            outputs.append(_star_out(out, excluded | consumed, replaced, renamed))
            continue
        if out.name in excluded or out.name in consumed:
            continue
        seen.add(out.name)
        if out.name in replaced:
            outputs.append(Out(out.name, replaced[out.name], listed=out.listed))
        elif out.name in renamed:
            outputs.append(Out(renamed[out.name], out.sources, listed=out.listed))
        else:
            outputs.append(out)
    if source.stars():
        outputs.extend(_replaced_outputs(resolver, source, replaced, renamed, seen))
    return outputs + pivot_outputs


def _replaced_outputs(resolver: Resolver, source: Source, replaced: dict[str, Refs], renamed: dict[str, str], seen: set[str]) -> list[Out]:
    outputs = [Out(name, sources, listed=False) for name, sources in replaced.items() if name not in seen]
    outputs.extend(Out(new, resolver.source_column(source, old)) for old, new in renamed.items() if old not in seen)
    return outputs


def _star_out(out: Out, excluded: set[str] | frozenset[str], replaced: dict[str, Refs], renamed: dict[str, str]) -> Out:
    if not (excluded or replaced or renamed):
        return out
    edge_excluded = excluded | set(replaced) | set(renamed)
    defined_excluded = excluded | set(renamed)
    return Out(
        None,
        frozenset(exclude(ref, edge_excluded) for ref in out.sources),  # type: ignore[arg-type]
        tuple(exclude(ref, defined_excluded) for ref in out.defined),
        out.listed,
    )
