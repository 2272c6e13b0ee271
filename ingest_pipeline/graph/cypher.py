"""Every Cypher statement the pipeline runs. Values only ever arrive as parameters ($rows, $paths)."""

SCHEMA = (
    "CREATE CONSTRAINT sql_file_path IF NOT EXISTS FOR (f:SqlFile) REQUIRE f.path IS UNIQUE",
    "CREATE CONSTRAINT statement_id IF NOT EXISTS FOR (s:Statement) REQUIRE s.id IS UNIQUE",
    "CREATE CONSTRAINT table_fqn IF NOT EXISTS FOR (t:Table) REQUIRE t.fqn IS UNIQUE",
    "CREATE CONSTRAINT ingest_meta_key IF NOT EXISTS FOR (m:IngestMeta) REQUIRE m.key IS UNIQUE",
    "CREATE CONSTRAINT column_fqn IF NOT EXISTS FOR (c:Column) REQUIRE c.fqn IS UNIQUE",
    "CREATE INDEX depends_on_file IF NOT EXISTS FOR ()-[d:DEPENDS_ON]-() ON (d.file)",
    "CREATE INDEX derives_from_file IF NOT EXISTS FOR ()-[d:DERIVES_FROM]-() ON (d.file)",
    "CREATE INDEX table_name IF NOT EXISTS FOR (t:Table) ON (t.name)",
)

# A random id the graph keeps for itself: the ledger is only trusted for the graph it was written to.
GRAPH_ID = (
    "MERGE (m:IngestMeta {key: 'graph'}) ON CREATE SET m.graph_id = randomUUID(), m.created_at = datetime() "
    "RETURN m.graph_id AS graph_id"
)

# Tables a file's current statements touch: candidates for clean-up once those statements go.
TOUCHED_TABLES = (
    "UNWIND $paths AS path "
    "MATCH (:SqlFile {path: path})-[:HAS_STATEMENT]->(:Statement)-[:READS|WRITES]->(t:Table) "
    "RETURN collect(DISTINCT t.fqn) AS fqns"
)
# Columns a file's current statements touch (DERIVES_FROM edges carrying its path, DEFINES edges).
TOUCHED_COLUMNS = (
    "UNWIND $paths AS path "
    "CALL (path) { "
    "  MATCH (a:Column)-[:DERIVES_FROM {file: path}]->(b:Column) RETURN [a.fqn, b.fqn] AS pair "
    "  UNION "
    "  MATCH (:SqlFile {path: path})-[:HAS_STATEMENT]->(:Statement)-[:DEFINES]->(c:Column) RETURN [c.fqn] AS pair "
    "} "
    "UNWIND pair AS fqn RETURN collect(DISTINCT fqn) AS fqns"
)
DELETE_STATEMENTS = (
    "UNWIND $paths AS path "
    "MATCH (:SqlFile {path: path})-[:HAS_STATEMENT]->(s:Statement) "
    "DETACH DELETE s"
)
DELETE_DEPENDS_ON = "UNWIND $paths AS path MATCH ()-[d:DEPENDS_ON {file: path}]->() DELETE d"
DELETE_DERIVES_FROM = "UNWIND $paths AS path MATCH ()-[d:DERIVES_FROM {file: path}]->() DELETE d"
DELETE_FILES = "UNWIND $paths AS path MATCH (f:SqlFile {path: path}) DETACH DELETE f"

MERGE_FILES = "UNWIND $rows AS r MERGE (f:SqlFile {path: r.path}) SET f += r"
MERGE_TABLES = (
    "UNWIND $rows AS r MERGE (t:Table {fqn: r.fqn}) "
    "ON CREATE SET t.kind = 'table' "
    "SET t.name = r.name, t.db = r.db, t.catalog = r.catalog"
)
# What belongs to one file alone (its statements and every edge carrying its path) was deleted in
# the same transaction just before, and rows arrive deduplicated: CREATE is safe there and spares
# Neo4j the existence check MERGE would make. Shared nodes (files, tables, columns) are MERGEd.
CREATE_STATEMENTS = (
    "UNWIND $rows AS r MATCH (f:SqlFile {path: r.path}) "
    "CREATE (f)-[:HAS_STATEMENT]->(:Statement {id: r.id, index: r.index, kind: r.kind, line: r.line, "
    "error: r.error, renamed_from: r.renamed_from})"
)
CREATE_READS = (
    "UNWIND $rows AS r MATCH (s:Statement {id: r.statement}) MATCH (t:Table {fqn: r.fqn}) CREATE (s)-[:READS]->(t)"
)
CREATE_WRITES = (
    "UNWIND $rows AS r MATCH (s:Statement {id: r.statement}) MATCH (t:Table {fqn: r.fqn}) CREATE (s)-[:WRITES]->(t)"
)
CREATE_DEPENDS_ON = (
    "UNWIND $rows AS r MATCH (a:Table {fqn: r.target}) MATCH (b:Table {fqn: r.source}) "
    "CREATE (a)-[:DEPENDS_ON {file: r.file}]->(b)"
)
MERGE_COLUMNS = (
    "UNWIND $rows AS r MATCH (t:Table {fqn: r.table}) "
    "MERGE (c:Column {fqn: r.fqn}) ON CREATE SET c.name = r.name, c.table = r.table "
    "MERGE (t)-[:HAS_COLUMN]->(c)"
)
CREATE_DEFINES = (
    "UNWIND $rows AS r MATCH (s:Statement {id: r.statement}) MATCH (c:Column {fqn: r.column}) CREATE (s)-[:DEFINES]->(c)"
)
CREATE_DERIVES_FROM = (
    "UNWIND $rows AS r MATCH (a:Column {fqn: r.target}) MATCH (b:Column {fqn: r.source}) "
    "CREATE (a)-[:DERIVES_FROM {file: r.file, statement: r.statement, ambiguous: r.ambiguous, position: r.position}]->(b)"
)

# After a replace: drop columns nothing derives from, into or defines any more.
DELETE_ORPHAN_COLUMNS = (
    "UNWIND $fqns AS fqn MATCH (c:Column {fqn: fqn}) "
    "WHERE NOT EXISTS { (c)-[:DERIVES_FROM]-() } AND NOT EXISTS { (:Statement)-[:DEFINES]->(c) } "
    "DETACH DELETE c"
)
# After a replace: drop tables no statement refers to any more, then derive `kind` from what defines them.
DELETE_ORPHAN_TABLES = (
    "UNWIND $fqns AS fqn MATCH (t:Table {fqn: fqn}) "
    "WHERE NOT EXISTS { (:Statement)-[:READS|WRITES]->(t) } "
    "OPTIONAL MATCH (t)-[:HAS_COLUMN]->(c:Column) "
    "DETACH DELETE c, t"
)
SET_TABLE_KINDS = (
    "UNWIND $fqns AS fqn MATCH (t:Table {fqn: fqn}) "
    "SET t.kind = CASE WHEN EXISTS { (:Statement {kind: 'CREATE_VIEW'})-[:WRITES]->(t) } THEN 'view' ELSE 'table' END"
)

COUNTS = (
    "CALL () { MATCH (n) RETURN count(n) AS nodes } "
    "CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships } "
    "RETURN nodes, relationships"
)
