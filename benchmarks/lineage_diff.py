"""Differential comparison of our column lineage with `sqlglot.lineage`, on a sample of a corpus.

Reports (never asserts) where the two disagree. For every sampled statement that defines columns
from a query (CTAS, CREATE VIEW, INSERT ... SELECT), both sides get the same schema (the catalog
built from every CREATE TABLE / CTAS / view of the corpus, which is what ingest uses):

* ours: `extract_lineage` + `expand_stars`, the edges the graph receives;
* sqlglot: `qualify` the query against the schema, then `sqlglot.lineage.lineage` for each output
  column, its leaves being the source columns.

Output columns are matched by name (INSERT: by position, the target names them). Each disagreement
is put in the first class that explains it (see `_classify`); docs/lineage-accuracy.md keeps the
findings.

    .venv/bin/python benchmarks/lineage_diff.py                        # generated corpus, 300 files
    .venv/bin/python benchmarks/lineage_diff.py --corpus ../shared/corpora/bigquery-etl --dialect bigquery --sample 300
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage as sqlglot_lineage
from sqlglot.optimizer.qualify import qualify

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate_corpus import main as generate_corpus  # noqa: E402
from ingest_pipeline.graph.columns import file_definitions  # noqa: E402
from ingest_pipeline.lineage import build_catalog, dialect_from_comment, expand_stars, extract_lineage  # noqa: E402
from ingest_pipeline.lineage.model import STAR  # noqa: E402
from ingest_pipeline.lineage.names import Names, table_ref  # noqa: E402

_KINDS = ("CREATE_TABLE", "CREATE_VIEW", "INSERT")
_QUOTES = '"`'



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", help="folder of .sql files (default: a generated benchmark corpus)")
    parser.add_argument("--files", type=int, default=300, help="files of the generated corpus (default 300)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dialect", default="", help="dialect of files without a `-- dialect:` comment")
    parser.add_argument("--sample", type=int, default=200, help="statements compared (default 200)")
    parser.add_argument("--examples", type=int, default=3, help="examples printed per class")
    args = parser.parse_args(argv)
    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as temp:
        corpus = Path(args.corpus) if args.corpus else Path(temp) / "corpus"
        if not args.corpus:
            generate_corpus([str(corpus), "--files", str(args.files), "--seed", str(args.seed)])
        report(compare(corpus, args.dialect, args.sample, args.seed), args.examples)
    return 0


def compare(corpus: Path, default_dialect: str, sample: int, seed: int) -> dict[str, list[str]]:
    files = []
    for path in sorted(corpus.rglob("*.sql")):
        text = path.read_text(errors="replace")
        dialect = dialect_from_comment(text) or default_dialect
        files.append((path.relative_to(corpus).as_posix(), text, dialect, extract_lineage(text, dialect)))
    definitions = {fqn: columns for *_, lineage in files for _, fqn, columns in file_definitions(lineage)}
    catalog = build_catalog(definitions)
    schema = _schema(catalog)
    candidates = [
        (name, text, dialect, statement)
        for name, text, dialect, lineage in files
        if lineage.templated is None
        for statement in lineage.statements
        if statement.kind in _KINDS and statement.columns and statement.writes
    ]
    random.Random(seed).shuffle(candidates)
    found: dict[str, list[str]] = defaultdict(list)
    compared = 0
    for name, text, dialect, statement in candidates:
        if compared >= sample:
            break
        query = _query(text, dialect, statement.index)
        if query is None:
            found["not comparable: statement not found by sqlglot.parse"].append(f"{name}#{statement.index}")
            continue
        compared += 1
        theirs, error = _theirs(query, dialect, schema)
        if error:
            found[f"sqlglot failed: {error}"].append(f"{name}#{statement.index}")
            continue
        for target, mine, other in _pairs(_ours(statement, catalog), theirs, statement.kind == "INSERT"):
            label = _classify(mine, other)
            found[label].append(f"{name}#{statement.index} {target}: ours {_fmt(mine)} | sqlglot {_fmt(other)}")
    found["statements compared"] = [str(compared)]
    return found


def _query(text: str, dialect: str, index: int) -> exp.Query | None:
    """The query of the index-th statement of a file, as sqlglot parses it alone."""
    try:
        parsed = [e for e in sqlglot.parse(text, read=dialect or None) if e is not None]
    except Exception:  # noqa: BLE001 - counted as not comparable
        return None
    if index >= len(parsed):
        return None
    query = parsed[index].expression if isinstance(parsed[index], (exp.Create, exp.Insert)) else None
    return query if isinstance(query, exp.Query) else None


def _ours(statement, catalog) -> dict[str, tuple[int | None, set[str], set[str]]]:
    """Target column -> (output position, source fqns, ambiguous ones), as the graph receives them;
    a `count(*)` source is written `rows(t)`, an unexpanded star `t.*`."""
    found: dict[str, tuple[int | None, set[str], set[str]]] = {}
    for edge in expand_stars(statement, catalog):
        position, sources, ambiguous = found.setdefault(edge.target.column, (edge.position, set(), set()))
        sources.update(f"rows({source.table.fqn})" if source.rows else source.fqn for source in edge.sources)
        ambiguous.update(source.fqn for source in edge.ambiguous)
    return found


def _theirs(query: exp.Query, dialect: str, schema: dict) -> tuple[list[tuple[str, set[str]]], str | None]:
    """(output name, source fqns) per output column of the query, by `sqlglot.lineage`."""
    names = Names.of(sqlglot.Dialect.get_or_raise(dialect or None))
    try:
        qualified = qualify(query.copy(), schema=schema, dialect=dialect or None, validate_qualify_columns=False)
    except Exception as error:  # noqa: BLE001 - reported
        return [], f"qualify: {_reason(error)}"
    found = []
    for select in qualified.selects:
        try:
            node = sqlglot_lineage(select.alias_or_name, qualified, schema=schema, dialect=dialect or None)
        except Exception as error:  # noqa: BLE001 - reported
            return [], f"lineage: {_reason(error)}"
        sources: set[str] = set()
        for leaf in node.walk():
            if leaf.downstream or not isinstance(leaf.expression, exp.Table):
                continue
            ref = table_ref(names, leaf.expression)
            if ref is not None:
                sources.add(f"{ref.fqn}.{leaf.name.split('.')[-1].strip(_QUOTES)}")
        found.append((select.alias_or_name, sources))
    return found, None


def _pairs(ours: dict, theirs: list[tuple[str, set[str]]], by_position: bool) -> list[tuple[str, tuple | None, tuple | None]]:
    """Our target columns matched with sqlglot's outputs: by output position for an INSERT (its
    target's columns are named by the table), else by name, falling back to the position."""
    by_name = {name: (name, sources) for name, sources in theirs}
    matched: set[str] = set()
    pairs = []
    for target, (position, sources, ambiguous) in ours.items():
        at = theirs[position] if position is not None and position < len(theirs) else None
        other = at if by_position else by_name.get(target)
        if other is None and at is not None and at[0] not in ours:
            other = at
        if other is not None:
            matched.add(other[0])
        pairs.append((target, (sources, ambiguous), (other[1], set()) if other is not None else None))
    pairs.extend((name, None, (sources, set())) for name, sources in theirs if name not in matched)
    return pairs


def _schema(catalog) -> dict:
    """The catalog as sqlglot's nested schema; sqlglot wants one nesting depth, the commonest wins."""
    depth = Counter(fqn.count(".") + 1 for fqn in catalog).most_common(1)[0][0]
    schema: dict = {}
    for fqn, columns in catalog.items():
        parts = fqn.split(".")
        if len(parts) != depth or STAR in columns:
            continue
        level = schema
        for part in parts[:-1]:
            level = level.setdefault(part, {})
        level[parts[-1]] = {column: "INT" for column in columns}
    return schema


def _reason(error: Exception) -> str:
    """An error message without the names in it, so that failures of one kind count together."""
    message = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "<name>", str(error).splitlines()[0])
    return re.sub(r": [\w.]+$", ": <name>", message)[:120]


def _classify(mine: tuple[set[str], set[str]] | None, other: tuple[set[str], set[str]] | None) -> str:
    """The first class that explains a disagreement (docs/lineage-accuracy.md discusses them)."""
    if mine is None:
        return "only sqlglot has this output column (ours: a constant, or a star it could not expand)"
    if other is None:
        return "only ours has this output column (sqlglot: a star it could not expand)"
    ours, ambiguous = mine
    theirs = other[0]
    if ours == theirs:
        return "agree"
    extra, missing = ours - theirs, theirs - ours
    rows = {ref for ref in extra if ref.startswith("rows(")}
    if rows and not (extra - rows) and not missing:
        return "ours adds rows(t): count(*) depends on the rows of t; sqlglot gives nothing"
    if ambiguous and extra <= ambiguous and not missing:
        return "ours adds candidates of an unqualified column no schema places (marked ambiguous)"
    if not theirs:
        return "sqlglot finds no source: a column of a table without schema (through a star, or a struct field)"
    if missing and all(ref.endswith(".*") and any(e.startswith(ref[:-1]) for e in extra) for ref in missing):
        return "sqlglot keeps t.* where ours names the column of t passed through a star"
    if extra and not missing and all(ref.endswith(".*") for ref in extra):
        return "ours adds t.*: a whole-row reference (MAX_BY(t, ...), TO_JSON_STRING(t)) depends on every column of t"
    if extra and not missing:
        return "ours has more sources"
    if missing and not extra:
        return "sqlglot has more sources"
    return "both differ"


def _fmt(side: tuple[set[str], set[str]] | None) -> str:
    if side is None:
        return "-"
    sources, ambiguous = side
    return "{" + ", ".join(sorted(s + ("?" if s in ambiguous else "") for s in sources)) + "}"


def report(found: dict[str, list[str]], examples: int) -> None:
    counts = Counter({label: len(items) for label, items in found.items() if label != "statements compared"})
    failed = sum(v for k, v in counts.items() if k.startswith("sqlglot failed"))
    print(f"statements sampled: {found['statements compared'][0]} (sqlglot failed on {failed})")
    print(f"output columns compared: {sum(v for k, v in counts.items() if not k.startswith(('sqlglot failed', 'not comparable')))}")
    for label, count in counts.most_common():
        print(f"\n{count:6d}  {label}")
        if label != "agree":
            for item in found[label][:examples]:
                print(f"        {item}")


if __name__ == "__main__":
    raise SystemExit(main())
