"""The pure half of `ingest-pipeline lineage`: names as the user types them, and answers as text.

No Neo4j here. Identifiers are normalised the way the graph stores them (docs/graph-model.md,
*Identifiers*) through the lineage extractor's own rules, so `RAW.ORDERS` finds `raw.orders` in a
dialect that folds unquoted names to lower case. The graph's own spelling of a name (as this
command prints it) is always accepted too. Answers render as an aligned table, JSON, CSV, Graphviz
dot or a Mermaid flowchart.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

from ingest_pipeline.lineage.names import Names, table_ref

FORMATS = ("table", "json", "csv", "dot", "mermaid")


# -- identifiers -----------------------------------------------------------------------------------


def table_candidates(text: str, dialect: str = "") -> list[str]:
    """Keys a typed table name may have in the graph, best first: as the dialect resolves it, then as typed."""
    text = text.strip()
    table = _parse(exp.to_table, text, dialect)
    ref = table_ref(_names(dialect), table) if isinstance(table, exp.Table) else None
    return _unique([ref.fqn] if ref else [], [text])


def column_candidates(text: str, dialect: str = "") -> list[tuple[str, str]]:
    """(table key, column name) pairs a typed `table.column` may have in the graph, best first."""
    text = text.strip()
    column = _parse(exp.to_column, text, dialect)
    found = []
    if isinstance(column, exp.Column) and column.args.get("table") is not None:
        names = _names(dialect)
        parts = (("this", "table"), ("db", "db"), ("catalog", "catalog"))
        table = exp.Table(**{key: column.args[part].copy() for key, part in parts if column.args.get(part) is not None})
        ref = table_ref(names, table)
        if ref is not None:
            found.append((ref.fqn, names.ident(column.this)))
    if "." in text:
        table_key, name = text.rsplit(".", 1)
        found.append((table_key, name))
    return list(dict.fromkeys(found))


def _names(dialect: str) -> Names:
    return Names.of(Dialect.get_or_raise(dialect or None))


def _parse(parser: Callable[..., Any], text: str, dialect: str) -> exp.Expression | None:
    try:
        return parser(text, dialect=dialect or None)
    except (SqlglotError, ValueError, TypeError):
        return None


def _unique(*groups: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(key for group in groups for key in group if key))


def closest(wanted: str, known: Iterable[str], limit: int = 5) -> list[str]:
    """Known keys most like `wanted`: same last part first, then containing it, then similar spelling."""
    target = wanted.strip().lower()
    if not target:
        return []
    known = sorted(set(known))
    lowered = {key.lower(): key for key in known}
    last = target.rsplit(".", 1)[-1]
    same_name = [key for key in known if key.lower().rsplit(".", 1)[-1] == last]
    containing = [key for key in known if target in key.lower() or key.lower() in target]
    similar = [lowered[key] for key in difflib.get_close_matches(target, list(lowered), n=limit, cutoff=0.6)]
    return _unique(same_name, similar, containing)[:limit]


def search_regex(pattern: str) -> str:
    """A case-insensitive regex for a search pattern: `*` and `?` are wildcards, anything else literal.

    A glob matches the whole name or the part after any dot (`stg_*` finds `staging.stg_orders`);
    without wildcards the pattern matches anywhere. The regex travels as a parameter.
    """
    pattern = pattern.strip()
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    if "*" in pattern or "?" in pattern:
        return f"(?is)(.*\\.)?{body}"
    return f"(?is).*{body}.*"


def without_wildcards(pattern: str) -> str:
    return pattern.replace("*", "").replace("?", "").strip(".")


# -- answers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    """A drawn edge, in the direction data flows."""

    source: str
    target: str
    label: str = ""


@dataclass
class Answer:
    """What a lineage command found: rows for table/JSON/CSV, edges and nodes for dot/Mermaid."""

    command: str
    subject: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    depth: int | None = None


def render(answer: Answer, fmt: str) -> str:
    """The answer in one of FORMATS, ending with a newline."""
    return _RENDERERS[fmt](answer)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def as_table(answer: Answer) -> str:
    """Columns aligned for a terminal; numbers right-aligned. An empty answer says so."""
    if not answer.rows:
        return f"no {answer.command} rows for {answer.subject}\n"
    cells = [[_cell(row.get(column)) for column in answer.columns] for row in answer.rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(answer.columns)]
    numeric = [all(isinstance(row.get(c), int) or row.get(c) is None for row in answer.rows) for c in answer.columns]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    out = [line(answer.columns), line(["-" * w for w in widths]), *(line(values) for values in cells)]
    return "\n".join(out) + "\n"


def as_json(answer: Answer) -> str:
    body: dict[str, Any] = {"command": answer.command, "subject": answer.subject}
    if answer.depth is not None:
        body["depth"] = answer.depth
    body["rows"] = [{column: row.get(column) for column in answer.columns} for row in answer.rows]
    return json.dumps(body, indent=2) + "\n"


def as_csv(answer: Answer) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(answer.columns)
    writer.writerows([_cell(row.get(column)) for column in answer.columns] for row in answer.rows)
    return buffer.getvalue()


def as_dot(answer: Answer) -> str:
    """Graphviz: `dot -Tsvg` draws it. Data flows left to right; the subject is bold."""
    out = ["digraph lineage {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for node in _graph_nodes(answer):
        style = ", style=bold" if node == answer.subject else ""
        out.append(f"  {_dot_quote(node)} [label={_dot_quote(node)}{style}];")
    for edge in answer.edges:
        label = f" [label={_dot_quote(edge.label)}]" if edge.label else ""
        out.append(f"  {_dot_quote(edge.source)} -> {_dot_quote(edge.target)}{label};")
    out.append("}")
    return "\n".join(out) + "\n"


def as_mermaid(answer: Answer) -> str:
    """A Mermaid flowchart for a PR or wiki (paste inside a ```mermaid block)."""
    ids = {node: f"n{i}" for i, node in enumerate(_graph_nodes(answer))}
    out = ["flowchart LR"]
    for node, node_id in ids.items():
        out.append(f'  {node_id}["{_mermaid_text(node)}"]')
    for edge in answer.edges:
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        out.append(f"  {ids[edge.source]} -->{label} {ids[edge.target]}")
    if answer.subject in ids:
        out.append(f"  style {ids[answer.subject]} stroke-width:3px")
    return "\n".join(out) + "\n"


def _graph_nodes(answer: Answer) -> list[str]:
    return _unique(answer.nodes, (end for edge in answer.edges for end in (edge.source, edge.target)))


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _mermaid_text(text: str) -> str:
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;").replace("\n", " ")


_RENDERERS: dict[str, Callable[[Answer], str]] = {
    "table": as_table,
    "json": as_json,
    "csv": as_csv,
    "dot": as_dot,
    "mermaid": as_mermaid,
}
