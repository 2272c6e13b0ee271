"""`ingest-pipeline lineage …`: the graph's questions answered without writing Cypher.

Exit codes: 0 answered (an empty answer included), 1 the table, column or pattern is not in the
graph (the closest matches are printed instead), 2 Neo4j is unreachable or refuses the query (one
line naming NEO4J_URI) or the arguments are invalid (argparse's usage error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ingest_pipeline import querying, settings
from ingest_pipeline.graph import queries
from ingest_pipeline.graph.queries import Read
from ingest_pipeline.querying import Answer, Edge

if TYPE_CHECKING:
    from ingest_pipeline.resources import Neo4jResource

SEARCH_LIMIT = 50


class UnknownName(LookupError):
    """A name the graph does not hold; the message lists the closest ones it does."""

    def __init__(self, what: str, typed: str, matches: list[str]) -> None:
        lines = [f"unknown {what}: {typed}"]
        lines += ["closest matches:", *(f"  {match}" for match in matches)] if matches else ["no similar names in the graph"]
        super().__init__("\n".join(lines))


def graph_reader() -> Neo4jResource:
    """The Neo4jResource the code location uses (same NEO4J_* settings), failing fast instead of retrying."""
    from ingest_pipeline.resources.configured import neo4j_resource

    return neo4j_resource(at_launch=False, max_retries=0)


def run_with_graph(work: Callable[[Read], int]) -> int:
    """Run `work(read)` against Neo4j: a server that is unreachable (or refuses us) is one line on
    stderr naming NEO4J_URI, and exit code 2."""
    from neo4j.exceptions import DriverError, Neo4jError

    from ingest_pipeline.resources import GraphUnavailableError

    neo4j = graph_reader()
    try:
        return work(neo4j.query)
    except GraphUnavailableError as error:
        _graph_error(
            f"Neo4j is unreachable at NEO4J_URI={neo4j.uri}",
            error.__cause__ or error,
            "start it (`ingest-pipeline neo4j start`) or point NEO4J_URI at a running server",
        )
        return 2
    except (Neo4jError, DriverError) as error:  # wrong credentials or database, mostly
        _graph_error(
            f"Neo4j at NEO4J_URI={neo4j.uri} (database {neo4j.database!r}) refused the query",
            error,
            "check NEO4J_USER, NEO4J_PASSWORD and NEO4J_DATABASE",
        )
        return 2
    finally:
        neo4j.close()


def _graph_error(problem: str, cause: BaseException, advice: str) -> None:
    reason = " ".join(f"{type(cause).__name__}: {cause}".split())
    print(f"error: {problem} ({reason}); {advice}", file=sys.stderr)


# -- resolving what the user typed ------------------------------------------------------------------


def resolve_table(read: Read, typed: str, dialect: str) -> str:
    candidates = querying.table_candidates(typed, dialect)
    found = queries.existing(read, queries.EXISTING_TABLES, candidates)
    for fqn in candidates:
        if fqn in found:
            return fqn
    raise UnknownName("table", typed, querying.closest(typed, _table_names(read)))


def resolve_column(read: Read, typed: str, dialect: str) -> str:
    candidates = querying.column_candidates(typed, dialect)
    keys = [f"{table}.{name}" for table, name in candidates]
    found = queries.existing(read, queries.EXISTING_COLUMNS, keys)
    for key in keys:
        if key in found:
            return key
    tables = queries.existing(read, queries.EXISTING_TABLES, [table for table, _ in candidates])
    table = next((table for table, _ in candidates if table in tables), None)
    if table is None:
        raise UnknownName("column (its table is not in the graph either)", typed, querying.closest(typed, _table_names(read)))
    columns = [row["fqn"] for row in read(queries.TABLE_COLUMNS, fqn=table)]
    raise UnknownName("column", typed, querying.closest(f"{table}.{candidates[0][1]}", columns))


def _table_names(read: Read) -> list[str]:
    return [row["fqn"] for row in read(queries.TABLE_NAMES)]


# -- the questions ------------------------------------------------------------------------------------


def _location(file: str | None, line: int | None) -> str:
    return f"{file}:{line}" if line is not None else file or ""


def _traversal(read: Read, command: str, step: str, subject: str, depth: int, name: str, upstream: bool) -> Answer:
    """Rows nearest first; edges drawn the way data flows (source -> target)."""
    neighbour = "into" if upstream else "from"
    with_kind = name == "table"
    columns = ["hops", name, *(["kind"] if with_kind else []), neighbour, "file", "line"]
    answer = Answer(command, subject, columns, nodes=[subject], depth=depth)
    for hop in queries.traverse(read, step, subject, depth):
        row = {"hops": hop.hops, name: hop.far, neighbour: hop.near, "file": hop.file, "line": hop.line}
        if with_kind:
            row["kind"] = hop.kind
        answer.rows.append(row)
        source, target = (hop.far, hop.near) if upstream else (hop.near, hop.far)
        answer.edges.append(Edge(source, target, _location(hop.file, hop.line)))
    return answer


def upstream(read: Read, args: argparse.Namespace) -> Answer:
    fqn = resolve_table(read, args.table, args.dialect)
    return _traversal(read, "upstream", queries.UPSTREAM_STEP, fqn, args.depth, "table", upstream=True)


def downstream(read: Read, args: argparse.Namespace) -> Answer:
    fqn = resolve_table(read, args.table, args.dialect)
    return _traversal(read, "downstream", queries.DOWNSTREAM_STEP, fqn, args.depth, "table", upstream=False)


def column(read: Read, args: argparse.Namespace) -> Answer:
    fqn = resolve_column(read, args.column, args.dialect)
    if args.downstream:
        return _traversal(read, "column downstream", queries.COLUMN_DOWNSTREAM_STEP, fqn, args.depth, "column", False)
    return _traversal(read, "column upstream", queries.COLUMN_UPSTREAM_STEP, fqn, args.depth, "column", True)


def _statements(read: Read, command: str, query: str, typed: str, dialect: str, writes: bool) -> Answer:
    fqn = resolve_table(read, typed, dialect)
    answer = Answer(command, fqn, ["file", "line", "kind"], nodes=[fqn])
    for row in read(query, fqn=fqn):
        answer.rows.append(row)
        label = f"{row['kind']} line {row['line']}"
        answer.edges.append(Edge(row["file"], fqn, label) if writes else Edge(fqn, row["file"], label))
    return answer


def writers(read: Read, args: argparse.Namespace) -> Answer:
    return _statements(read, "writers", queries.WRITERS, args.table, args.dialect, writes=True)


def readers(read: Read, args: argparse.Namespace) -> Answer:
    return _statements(read, "readers", queries.READERS, args.table, args.dialect, writes=False)


def search(read: Read, args: argparse.Namespace) -> Answer:
    rows = read(queries.SEARCH, regex=querying.search_regex(args.pattern), limit=args.limit)
    if not rows:
        matches = querying.closest(querying.without_wildcards(args.pattern), _table_names(read))
        raise UnknownName("name (no table or column matches)", args.pattern, matches)
    return Answer("search", args.pattern, ["type", "name", "kind"], rows=rows, nodes=[row["name"] for row in rows])


QUESTIONS: dict[str, Callable[[Read, argparse.Namespace], Answer]] = {
    "upstream": upstream,
    "downstream": downstream,
    "writers": writers,
    "readers": readers,
    "column": column,
    "search": search,
}


def answer_question(args: argparse.Namespace) -> int:
    if args.dialect is None:
        args.dialect = settings.INGEST_DIALECT.current()

    def work(read: Read) -> int:
        try:
            answer = QUESTIONS[args.question](read, args)
        except UnknownName as error:
            print(error, file=sys.stderr)
            return 1
        sys.stdout.write(querying.render(answer, args.format))
        return 0

    return run_with_graph(work)


# -- argparse -----------------------------------------------------------------------------------------


def _depth(text: str) -> int:
    try:
        return queries.check_depth(int(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _limit(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return int(text)


def register(commands: argparse._SubParsersAction) -> None:
    """Add `lineage` and its questions to the `ingest-pipeline` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--format", choices=querying.FORMATS, default="table", help="output format (default: table)")
    common.add_argument(
        "--dialect",
        default=None,  # INGEST_DIALECT, read when the question runs: a bad value must not break other commands
        help="how to read the names you type (default INGEST_DIALECT); the graph's own spelling always works",
    )
    depth = argparse.ArgumentParser(add_help=False)
    depth.add_argument(
        "--depth", type=_depth, default=queries.DEFAULT_DEPTH, help=f"hops to follow, 1-{queries.MAX_DEPTH} (default 10)"
    )

    lineage = commands.add_parser("lineage", help="answer lineage questions from the graph (NEO4J_URI)")
    lineage.set_defaults(handler=answer_question)
    questions = lineage.add_subparsers(dest="question", required=True)
    for name, help_text in (("upstream", "what feeds TABLE"), ("downstream", "what TABLE feeds (impact)")):
        parser = questions.add_parser(name, parents=[common, depth], help=f"{help_text}, nearest first")
        parser.add_argument("table")
    for name, help_text in (("writers", "statements that write TABLE"), ("readers", "statements that read TABLE")):
        parser = questions.add_parser(name, parents=[common], help=f"{help_text}: file, line, kind")
        parser.add_argument("table")
    column_parser = questions.add_parser("column", parents=[common, depth], help="column lineage of TABLE.COLUMN")
    column_parser.add_argument("column", metavar="TABLE.COLUMN")
    direction = column_parser.add_mutually_exclusive_group()
    direction.add_argument("--upstream", action="store_true", help="where its values come from (default)")
    direction.add_argument("--downstream", action="store_true", help="what is computed from it")
    search_parser = questions.add_parser("search", parents=[common], help="tables and columns whose name matches")
    search_parser.add_argument("pattern", help="part of a name, or a glob with * and ?; case-insensitive")
    search_parser.add_argument("--limit", type=_limit, default=SEARCH_LIMIT, help=f"most rows shown (default {SEARCH_LIMIT})")
