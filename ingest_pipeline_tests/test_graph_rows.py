"""Graph contract v2 end to end (real Neo4j): locations, routines, temporary tables, parsed_as.

The rows themselves are pure (graph.rows); the test that matters writes a small warehouse through
the real job and reads the graph back, then replaces and deletes files and compares the result
with a clean ingest of the same final files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest_pipeline.graph.rows import location_scheme, table_key
from ingest_pipeline.lineage.model import TableRef
from ingest_pipeline_tests.support import run_ingest

PROCEDURE = """-- dialect: tsql
CREATE PROCEDURE dbo.load_orders AS
BEGIN
    SELECT * INTO #stage FROM dbo.src
    INSERT INTO dbo.orders SELECT * FROM #stage
    EXEC dbo.audit_load
END
"""
UNRELATED_TEMP = """-- dialect: tsql
SELECT * INTO #stage FROM dbo.other_src
"""
LOCATIONS = """-- dialect: redshift
COPY s.events FROM 's3://bucket/in/' IAM_ROLE 'arn:aws:iam::1:role/r';
UNLOAD ('SELECT * FROM s.events') TO 's3://bucket/out/' IAM_ROLE 'arn:aws:iam::1:role/r';
"""
FALLBACK = """-- dialect: athena
SELECT * FROM `db`.`events`
"""


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _graph(neo4j) -> tuple[set[tuple[str, str, str]], dict[str, int]]:
    """Every relationship as (start key, type, end key) and the node count per label."""
    rows = neo4j.query(
        "MATCH (a)-[r]->(b) RETURN coalesce(a.path, a.id, a.fqn, a.uri) AS a, type(r) AS r, "
        "coalesce(b.path, b.id, b.fqn, b.uri) AS b"
    )
    counts = neo4j.query("MATCH (n) RETURN labels(n)[0] AS label, count(*) AS n")
    return {(r["a"], r["r"], r["b"]) for r in rows}, {r["label"]: r["n"] for r in counts}


def test_contract_v2_lands_in_the_graph_and_follows_its_files(resources, tmp_path):
    corpus = _write(
        tmp_path / "warehouse",
        {"proc.sql": PROCEDURE, "other.sql": UNRELATED_TEMP, "load.sql": LOCATIONS, "athena.sql": FALLBACK},
    )
    neo4j = resources["neo4j"]

    assert run_ingest(resources, corpus).success

    edges, _ = _graph(neo4j)
    assert {
        ("load.sql#0", "READS", "s3://bucket/in/"),
        ("load.sql#0", "WRITES", "s.events"),
        ("s.events", "DEPENDS_ON", "s3://bucket/in/"),
        ("load.sql#1", "READS", "s.events"),
        ("load.sql#1", "WRITES", "s3://bucket/out/"),
        ("s3://bucket/out/", "DEPENDS_ON", "s.events"),
        ("proc.sql#0", "DEFINES_ROUTINE", "dbo.load_orders"),
        ("proc.sql#1", "IN_ROUTINE", "dbo.load_orders"),
        ("proc.sql#1", "WRITES", "#stage@proc.sql"),
        ("proc.sql#2", "READS", "#stage@proc.sql"),
        ("dbo.orders", "DEPENDS_ON", "#stage@proc.sql"),
        ("proc.sql#3", "CALLS", "dbo.audit_load"),
        ("other.sql#0", "WRITES", "#stage@other.sql"),
    } <= edges
    locations = {r["uri"]: r["scheme"] for r in neo4j.query("MATCH (l:Location) RETURN l.uri AS uri, l.scheme AS scheme")}
    assert locations == {"s3://bucket/in/": "s3", "s3://bucket/out/": "s3"}
    routines = {r["fqn"]: r["kind"] for r in neo4j.query("MATCH (p:Routine) RETURN p.fqn AS fqn, p.kind AS kind")}
    assert routines == {"dbo.load_orders": "procedure", "dbo.audit_load": None}
    temporary = neo4j.query(
        "MATCH (t:Table {temporary: true}) RETURN t.fqn AS fqn, t.name AS name, t.local_to AS file ORDER BY fqn"
    )
    assert [(r["fqn"], r["name"], r["file"]) for r in temporary] == [
        ("#stage@other.sql", "#stage", "other.sql"),
        ("#stage@proc.sql", "#stage", "proc.sql"),
    ]
    (fallback,) = neo4j.query("MATCH (s:Statement {id: 'athena.sql#0'}) RETURN s.parsed_as AS dialect, s.kind AS kind")
    assert (fallback["dialect"], fallback["kind"]) == ("hive", "SELECT")
    (member,) = neo4j.query("MATCH (s:Statement {id: 'proc.sql#2'}) RETURN s.routine AS routine, s.line AS line")
    assert (member["routine"], member["line"]) == ("dbo.load_orders", 5)
    _documented_queries_run(neo4j)

    # Replace one file (no more call, no more temp table) and delete another: what they alone
    # contributed goes, and the graph equals a clean ingest of the final files.
    (corpus / "proc.sql").write_text("-- dialect: tsql\nCREATE PROCEDURE dbo.load_orders AS\nINSERT INTO dbo.orders SELECT * FROM dbo.src\n")
    (corpus / "load.sql").unlink()
    assert run_ingest(resources, corpus).success

    after = _graph(neo4j)
    assert not neo4j.query("MATCH (n) WHERE n:Location OR n.fqn IN ['dbo.audit_load', '#stage@proc.sql'] RETURN n")
    neo4j.query("MATCH (n) WHERE NOT n:IngestMeta DETACH DELETE n")
    clean = tmp_path / "clean"
    _write(clean, {name: (corpus / name).read_text() for name in ("proc.sql", "other.sql", "athena.sql")})
    assert run_ingest({**resources, "ledger": type(resources["ledger"])(path=str(tmp_path / "clean.db"))}, clean).success
    assert _graph(neo4j) == after


def _documented_queries_run(neo4j) -> None:
    """The v2 example queries of docs/graph-model.md run, and the temp-table one gives the answer it promises."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "graph-model.md").read_text()
    v2 = text[text.index("### Example queries (v2)") :]
    queries = [block.split("```", 1)[0] for block in v2.split("```cypher")[1:]]
    assert len(queries) >= 7
    parameters = {"fqn": "dbo.orders", "routine": "dbo.load_orders", "uri": "s3://bucket/in/"}
    answers = [neo4j.query(query, **parameters) for query in queries]
    assert answers[0] == [{"source": "dbo.src", "through": ["#stage"]}]
    assert {"target": "dbo.orders", "source": "dbo.src", "hops": 2} in answers[1]
    assert {(r["access"], r["object"]) for r in answers[2]} == {("WRITES", "#stage@proc.sql"), ("READS", "dbo.src"), ("READS", "#stage@proc.sql"), ("WRITES", "dbo.orders")}


@pytest.mark.parametrize(
    ("ref", "temporary", "key"),
    [
        pytest.param(TableRef("", "dbo", "t"), set(), "dbo.t", id="plain"),
        pytest.param(TableRef("", "", "#t"), {TableRef("", "", "#t")}, "#t@a/b.sql", id="local-temp"),
        pytest.param(TableRef("", "", "@v"), {TableRef("", "", "@v")}, "@v@a/b.sql", id="table-variable"),
        pytest.param(TableRef("", "", "##g"), {TableRef("", "", "##g")}, "##g", id="global-temp-shared"),
        pytest.param(TableRef("", "", "tmp"), {TableRef("", "", "tmp")}, "tmp@a/b.sql", id="create-temp"),
    ],
)
def test_table_key_scopes_session_tables_to_their_file(ref, temporary, key):
    assert table_key(ref, "a/b.sql", temporary) == key


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [("s3://b/p", "s3"), ("gs://b/x.csv", "gs"), ("@STAGE/p", "stage"), ("/tmp/x.csv", "file"), ("C:\\data\\x.csv", "file"),
     ("abfss://c@acc.dfs.core.windows.net/p", "abfss"), ("hdfs://nn/out", "hdfs")],
)
def test_location_scheme(uri, scheme):
    assert location_scheme(uri) == scheme
