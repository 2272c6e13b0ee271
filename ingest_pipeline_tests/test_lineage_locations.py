"""External locations: paths, URIs and stages are read and written as locations, never as tables.

Each case: (id, dialect, sql, kind, reads, writes, location reads, location writes).
"""

from __future__ import annotations

import pytest

from ingest_pipeline.lineage.extract import extract_lineage

CASES = [
    # ---- Spark / Databricks / Hive ------------------------------------------------------------
    ("select-from-parquet-path", "spark", "SELECT * FROM parquet.`examples/src/main/resources/`", "SELECT", [], [], ["examples/src/main/resources/"], []),
    ("select-from-json-path", "databricks", "SELECT * FROM json.`/mnt/raw/events/`", "SELECT", [], [], ["/mnt/raw/events/"], []),
    ("select-from-csv-path", "spark", "SELECT * FROM csv.`s3://bucket/in.csv` AS c JOIN db.t ON c.id = t.id", "SELECT", ["db.t"], [], ["s3://bucket/in.csv"], []),
    ("delta-path-join", "databricks", "SELECT * FROM delta.`/mnt/delta/events` e JOIN main.s.dim d ON e.k = d.k", "SELECT", ["main.s.dim"], [], ["/mnt/delta/events"], []),
    ("format-named-table-is-a-table", "spark", "SELECT * FROM parquet.events", "SELECT", ["parquet.events"], [], [], []),
    ("insert-into-delta-path", "databricks", "INSERT INTO delta.`/mnt/delta/out` SELECT * FROM main.s.t", "INSERT", ["main.s.t"], [], [], ["/mnt/delta/out"]),
    ("insert-overwrite-directory", "hive", "INSERT OVERWRITE DIRECTORY 'hdfs://path/to/folder'\nSELECT * FROM tab1", "INSERT", ["tab1"], [], [], ["hdfs://path/to/folder"]),
    ("insert-overwrite-local-directory", "spark", "INSERT OVERWRITE LOCAL DIRECTORY '/tmp/out' STORED AS ORC SELECT * FROM db.t", "INSERT", ["db.t"], [], [], ["/tmp/out"]),
    ("insert-overwrite-directory-using", "databricks", "INSERT OVERWRITE DIRECTORY '/tmp/out' USING parquet OPTIONS (compression 'snappy') SELECT * FROM db.t", "INSERT", ["db.t"], [], [], ["/tmp/out"]),
    ("load-data-inpath", "hive", "LOAD DATA INPATH 'hdfs://nn/in/day=1' INTO TABLE db.raw", "LOAD_DATA", [], ["db.raw"], ["hdfs://nn/in/day=1"], []),
    ("load-data-local-overwrite-partition", "spark", "LOAD DATA LOCAL INPATH '/tmp/in.csv' OVERWRITE INTO TABLE db.raw PARTITION (dt='2024')", "LOAD_DATA", [], ["db.raw"], ["/tmp/in.csv"], []),
    ("external-table-location-is-read", "hive", "CREATE EXTERNAL TABLE db.ext (a INT) STORED AS PARQUET LOCATION 's3://bucket/ext/'", "CREATE_TABLE", [], ["db.ext"], ["s3://bucket/ext/"], []),
    ("ctas-location-is-written", "databricks", "CREATE TABLE db.d USING delta LOCATION 's3://bucket/d' AS SELECT * FROM db.t", "CREATE_TABLE", ["db.t"], ["db.d"], [], ["s3://bucket/d"]),
    ("copy-into-from-path", "databricks", "COPY INTO main.s.t FROM 's3://bucket/in/' FILEFORMAT = CSV", "COPY", [], ["main.s.t"], ["s3://bucket/in/"], []),
    ("copy-into-from-query-over-path", "databricks", "COPY INTO main.s.t FROM (SELECT a, b FROM 's3://bucket/in/') FILEFORMAT = PARQUET", "COPY", [], ["main.s.t"], ["s3://bucket/in/"], []),
    ("copy-into-delta-path-from-path", "databricks", "COPY INTO delta.`/mnt/t` FROM 's3://bucket/in/' FILEFORMAT = CSV", "COPY", [], [], ["s3://bucket/in/"], ["/mnt/t"]),
    ("table-over-options-path", "spark", "CREATE TABLE db.t USING parquet OPTIONS (path 's3://bucket/p/')", "CREATE_TABLE", [], ["db.t"], ["s3://bucket/p/"], []),
    ("ctas-options-path-is-written", "databricks", "CREATE TABLE db.t USING delta OPTIONS (path '/mnt/t') AS SELECT * FROM db.s", "CREATE_TABLE", ["db.s"], ["db.t"], [], ["/mnt/t"]),
    ("read-files-function", "databricks", "SELECT * FROM read_files('s3://bucket/raw/', format => 'json')", "SELECT", [], [], ["s3://bucket/raw/"], []),
    ("read-parquet-function", "duckdb", "CREATE TABLE t AS SELECT * FROM read_parquet('data/x.parquet')", "CREATE_TABLE", [], ["t"], ["data/x.parquet"], []),
    # ---- Redshift / PostgreSQL ----------------------------------------------------------------
    ("copy-from-s3", "redshift", "COPY tab1 FROM 's3://mybucket/mypath'", "COPY", [], ["tab1"], ["s3://mybucket/mypath"], []),
    ("copy-from-s3-options", "redshift", "COPY s.t FROM 's3://b/p/' IAM_ROLE 'arn:aws:iam::1:role/r' FORMAT AS PARQUET", "COPY", [], ["s.t"], ["s3://b/p/"], []),
    ("unload-query-string", "redshift", "UNLOAD ('SELECT * FROM s.v WHERE d > ''2024-01-01''') TO 's3://b/unload/' IAM_ROLE 'x'", "UNLOAD", ["s.v"], [], [], ["s3://b/unload/"]),
    ("unload-join", "redshift", "UNLOAD ('select a.x from s.a join s.b on a.id = b.id') TO 's3://b/u/' CREDENTIALS 'c' PARALLEL OFF", "UNLOAD", ["s.a", "s.b"], [], [], ["s3://b/u/"]),
    ("copy-from-path", "postgres", "COPY tab1 FROM 's3://mybucket/mypath'", "COPY", [], ["tab1"], ["s3://mybucket/mypath"], []),
    ("copy-from-file-options", "postgres", "COPY t (a, b) FROM '/tmp/x.csv' WITH (FORMAT csv, HEADER)", "COPY", [], ["t"], ["/tmp/x.csv"], []),
    ("copy-to-file", "postgres", "COPY t TO '/tmp/out.csv'", "COPY", ["t"], [], [], ["/tmp/out.csv"]),
    ("copy-query-to-file", "postgres", "COPY (SELECT * FROM a JOIN b ON a.id = b.id) TO '/tmp/out.csv'", "COPY", ["a", "b"], [], [], ["/tmp/out.csv"]),
    ("copy-from-stdin-is-no-location", "postgres", "COPY t FROM STDIN", "COPY", [], ["t"], [], []),
    # ---- Snowflake ----------------------------------------------------------------------------
    ("copy-into-from-stage", "snowflake", "COPY INTO t FROM @my_stage/path/ FILE_FORMAT = (TYPE = CSV)", "COPY", [], ["T"], ["@MY_STAGE/path/"], []),
    ("copy-into-from-s3", "snowflake", "COPY INTO tab1 FROM 's3://mybucket/mypath'", "COPY", [], ["TAB1"], ["s3://mybucket/mypath"], []),
    ("copy-into-stage-from-table", "snowflake", "COPY INTO @out_stage/x/ FROM db.s.t", "COPY", ["DB.S.T"], [], [], ["@OUT_STAGE/x/"]),
    ("copy-into-stage-from-query", "snowflake", "COPY INTO @s/out/ FROM (SELECT * FROM t JOIN u ON t.id = u.id)", "COPY", ["T", "U"], [], [], ["@S/out/"]),
    ("copy-into-url-from-table", "snowflake", "COPY INTO 's3://b/out/' FROM t", "COPY", ["T"], [], [], ["s3://b/out/"]),
    ("copy-transform-from-stage", "snowflake", "COPY INTO t (a, b) FROM (SELECT $1, $2 FROM @raw/day/)", "COPY", [], ["T"], ["@RAW/day/"], []),
    ("select-from-stage", "snowflake", "SELECT t.$1 FROM @my_stage/path/ (FILE_FORMAT => 'f') t", "SELECT", [], [], ["@MY_STAGE/path/"], []),
    ("insert-from-stage", "snowflake", "INSERT INTO t SELECT $1 FROM @stage", "INSERT", [], ["T"], ["@STAGE"], []),
    ("quoted-stage-and-user-stage", "snowflake", 'SELECT $1 FROM @"Mixed"/p/ UNION ALL SELECT $1 FROM @~/staged/', "SELECT", [], [], ["@Mixed/p/", "@~/staged/"], []),
    ("external-table-on-stage", "snowflake", "CREATE EXTERNAL TABLE ext LOCATION = @my_stage/ext/ FILE_FORMAT = (TYPE = PARQUET)", "CREATE_TABLE", [], ["EXT"], ["@MY_STAGE/ext/"], []),
    ("put-file-to-stage", "snowflake", "PUT file:///tmp/x.csv @my_stage", "PUT", [], [], ["file:///tmp/x.csv"], ["@MY_STAGE"]),
    ("get-stage-to-file", "snowflake", "GET @my_stage/x file:///tmp/", "GET", [], [], ["@MY_STAGE/x"], ["file:///tmp/"]),
    # ---- BigQuery ------------------------------------------------------------------------------
    ("load-data-from-files", "bigquery", "LOAD DATA INTO ds.t FROM FILES (format = 'CSV', uris = ['gs://b/a.csv', 'gs://b/b.csv'])", "LOAD_DATA", [], ["ds.t"], ["gs://b/a.csv", "gs://b/b.csv"], []),
    ("load-data-overwrite", "bigquery", "LOAD DATA OVERWRITE ds.t FROM FILES (format = 'PARQUET', uris = ['gs://b/p/*'])", "LOAD_DATA", [], ["ds.t"], ["gs://b/p/*"], []),
    ("external-table-uris", "bigquery", "CREATE EXTERNAL TABLE ds.ext OPTIONS (format = 'CSV', uris = ['gs://b/a.csv', 'gs://b/b.csv'])", "CREATE_TABLE", [], ["ds.ext"], ["gs://b/a.csv", "gs://b/b.csv"], []),
    ("export-data", "bigquery", "EXPORT DATA OPTIONS (uri = 'gs://b/out/*.csv', format = 'CSV', overwrite = true) AS SELECT a FROM ds.t JOIN ds.u USING (id)", "EXPORT", ["ds.t", "ds.u"], [], [], ["gs://b/out/*.csv"]),
    # ---- Athena / Trino / T-SQL -------------------------------------------------------------------
    ("unload-query", "athena", "UNLOAD (SELECT * FROM db.u WHERE d > DATE '2024-01-01') TO 's3://bucket/out/' WITH (format = 'PARQUET')", "UNLOAD", ["db.u"], [], [], ["s3://bucket/out/"]),
    ("ctas-external-location", "athena", "CREATE TABLE db.c WITH (external_location = 's3://bucket/c/', format = 'PARQUET') AS SELECT * FROM db.src", "CREATE_TABLE", ["db.src"], ["db.c"], [], ["s3://bucket/c/"]),
    ("table-external-location", "athena", "CREATE TABLE db.t (a INT) WITH (external_location = 's3://bucket/t/', format = 'ORC')", "CREATE_TABLE", [], ["db.t"], ["s3://bucket/t/"], []),
    ("external-table-location", "athena", "CREATE EXTERNAL TABLE db.ext (a int) LOCATION 's3://bucket/ext/'", "CREATE_TABLE", [], ["db.ext"], ["s3://bucket/ext/"], []),
    ("copy-into-from-url", "tsql", "COPY INTO tab1 FROM 'https://myaccount.blob.core.windows.net/myblobcontainer/folder1/'", "COPY", [], ["tab1"], ["https://myaccount.blob.core.windows.net/myblobcontainer/folder1/"], []),
    ("bulk-insert-file", "tsql", "BULK INSERT dbo.t FROM '/data/in.csv' WITH (FORMAT = 'CSV')", "BULK_INSERT", [], ["dbo.t"], ["/data/in.csv"], []),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "kind", "reads", "writes", "location_reads", "location_writes"),
    [pytest.param(*row[1:], id=f"{row[1]}-{row[0]}") for row in CASES],
)
def test_locations(dialect, sql, kind, reads, writes, location_reads, location_writes):
    [statement] = extract_lineage(sql, dialect).statements
    got = (
        statement.kind, sorted(r.fqn for r in statement.reads), sorted(w.fqn for w in statement.writes),
        statement.location_reads, statement.location_writes,
    )  # fmt: skip
    assert got == (kind, sorted(reads), sorted(writes), sorted(location_reads), sorted(location_writes))
    assert statement.error is None


def test_case_ids_are_unique_and_broad():
    assert len({(row[0], row[1]) for row in CASES}) == len(CASES) >= 40
    assert {"spark", "databricks", "hive", "redshift", "postgres", "snowflake", "bigquery", "athena", "tsql"} <= {row[1] for row in CASES}


def test_a_location_round_trips_through_the_model():
    from ingest_pipeline.lineage.model import FileLineage

    lineage = extract_lineage("COPY INTO @s/out/ FROM t;\nCOPY t2 FROM 's3://b/in'", "snowflake")
    assert FileLineage.from_dict(lineage.to_dict()) == lineage
