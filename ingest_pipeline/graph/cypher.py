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
    "CREATE INDEX sql_file_source IF NOT EXISTS FOR (f:SqlFile) ON (f.source)",
    # Graphs written before sources existed hold the default source's files only.
    "MATCH (f:SqlFile) WHERE f.source IS NULL SET f.source = 'default'",
    "CREATE CONSTRAINT location_uri IF NOT EXISTS FOR (l:Location) REQUIRE l.uri IS UNIQUE",
    "CREATE CONSTRAINT routine_fqn IF NOT EXISTS FOR (r:Routine) REQUIRE r.fqn IS UNIQUE",
)

# The files the graph holds for one source, with the bytes it holds them for: the truth deletions
# and "unchanged" are decided against.
SOURCE_FILES = "MATCH (f:SqlFile {source: $source}) RETURN f.path AS path, f.sha256 AS sha256"

# A random id the graph keeps for itself: the ledger is only trusted for the graph it was written to.
GRAPH_ID = (
    "MERGE (m:IngestMeta {key: 'graph'}) ON CREATE SET m.graph_id = randomUUID(), m.created_at = datetime() "
    "RETURN m.graph_id AS graph_id"
)

# What a file's current statements touch, candidates for clean-up once those statements go: tables
# they read or write, columns (DERIVES_FROM edges carrying its path, DEFINES edges), locations and
# routines. One query, one round trip per transaction (each costs ~5 ms; a cold bigquery-etl run has 22).
TOUCHED = (
    "CALL () { "
    "  UNWIND $paths AS path "
    "  MATCH (:SqlFile {path: path})-[:HAS_STATEMENT]->(:Statement)-[:READS|WRITES]->(t:Table) "
    "  RETURN collect(DISTINCT t.fqn) AS tables "
    "} "
    "CALL () { "
    "  UNWIND $paths AS path "
    "  CALL (path) { "
    "    MATCH (a:Column)-[:DERIVES_FROM {file: path}]->(b:Column) RETURN [a.fqn, b.fqn] AS pair "
    "    UNION "
    "    MATCH (:SqlFile {path: path})-[:HAS_STATEMENT]->(:Statement)-[:DEFINES]->(c:Column) RETURN [c.fqn] AS pair "
    "  } "
    "  UNWIND pair AS fqn RETURN collect(DISTINCT fqn) AS columns "
    "} "
    "CALL () { "
    "  UNWIND $paths AS path "
    "  MATCH (:SqlFile {path: path})-[:HAS_STATEMENT]->(:Statement)-[:READS|WRITES|IN_ROUTINE|DEFINES_ROUTINE|CALLS]->(n) "
    "  WHERE n:Location OR n:Routine "
    "  RETURN collect(DISTINCT n.uri) AS uris, collect(DISTINCT n.fqn) AS routines "
    "} "
    "RETURN tables, columns, uris, routines"
)
# A file's old contribution: its statements (with their edges), then the edges carrying its path.
DELETE_CONTRIBUTIONS = (
    "CALL () { UNWIND $paths AS path MATCH (:SqlFile {path: path})-[:HAS_STATEMENT]->(s:Statement) DETACH DELETE s } "
    "CALL () { UNWIND $paths AS path MATCH ()-[d:DEPENDS_ON {file: path}]->() DELETE d } "
    "CALL () { UNWIND $paths AS path MATCH ()-[d:DERIVES_FROM {file: path}]->() DELETE d }"
)
DELETE_FILES = "UNWIND $paths AS path MATCH (f:SqlFile {path: path}) DETACH DELETE f"

# A file too large for one transaction is replaced in stages. Its SqlFile first loses its sha256,
# so a replace interrupted half way is seen as "the graph holds other bytes" and done again; then
# its old contribution goes in bounded transactions ($limit items each, count returned until 0).
MARK_INCOMPLETE = "UNWIND $paths AS path MATCH (f:SqlFile {path: path}) SET f.sha256 = null"
DELETE_STATEMENTS_BATCH = (
    "MATCH (:SqlFile {path: $path})-[:HAS_STATEMENT]->(s:Statement) WITH s LIMIT $limit DETACH DELETE s RETURN count(*) AS n"
)
DELETE_DEPENDS_ON_BATCH = "MATCH ()-[d:DEPENDS_ON {file: $path}]->() WITH d LIMIT $limit DELETE d RETURN count(*) AS n"
DELETE_DERIVES_FROM_BATCH = "MATCH ()-[d:DERIVES_FROM {file: $path}]->() WITH d LIMIT $limit DELETE d RETURN count(*) AS n"

MERGE_FILES = "UNWIND $rows AS r MERGE (f:SqlFile {path: r.path}) SET f += r"
MERGE_TABLES = (
    "UNWIND $rows AS r MERGE (t:Table {fqn: r.fqn}) "
    "ON CREATE SET t.kind = 'table' "
    "SET t.name = r.name, t.db = r.db, t.catalog = r.catalog, t.temporary = r.temporary, t.local_to = r.local_to"
)
# What belongs to one file alone (its statements and every edge carrying its path) was deleted in
# the same transaction just before, and rows arrive deduplicated: CREATE is safe there and spares
# Neo4j the existence check MERGE would make. Shared nodes (files, tables, columns) are MERGEd.
CREATE_STATEMENTS = (
    "UNWIND $rows AS r MATCH (f:SqlFile {path: r.path}) "
    "CREATE (f)-[:HAS_STATEMENT]->(:Statement {id: r.id, index: r.index, kind: r.kind, line: r.line, "
    "error: r.error, renamed_from: r.renamed_from, parsed_as: r.parsed_as, routine: r.routine})"
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
# Column lineage rows arrive grouped (one row per table, statement or target column) so that each
# shared node is looked up once per group instead of once per edge. A Column exists exactly as long
# as its HAS_COLUMN from its table (both are created together and deleted together), so a column
# the graph does not hold yet is CREATEd with that edge; an existing one needs the MERGE of the edge
# only when another table named the same key (never in practice, kept for exactness).
CREATE_COLUMNS = (
    "UNWIND $rows AS r MATCH (t:Table {fqn: r.table}) "
    "UNWIND r.columns AS col "
    "OPTIONAL MATCH (c:Column {fqn: col.fqn}) "
    "FOREACH (_ IN CASE WHEN c IS NULL THEN [1] ELSE [] END | "
    "  CREATE (t)-[:HAS_COLUMN]->(:Column {fqn: col.fqn, name: col.name, table: r.table})) "
    "FOREACH (_ IN CASE WHEN c IS NOT NULL AND c.table <> r.table THEN [1] ELSE [] END | MERGE (t)-[:HAS_COLUMN]->(c))"
)
CREATE_DEFINES = (
    "UNWIND $rows AS r MATCH (s:Statement {id: r.statement}) "
    "UNWIND r.columns AS fqn MATCH (c:Column {fqn: fqn}) CREATE (s)-[:DEFINES]->(c)"
)
CREATE_DERIVES_FROM = (
    "UNWIND $rows AS r MATCH (a:Column {fqn: r.target}) "
    "UNWIND r.sources AS d MATCH (b:Column {fqn: d.source}) "
    "CREATE (a)-[:DERIVES_FROM {file: d.file, statement: d.statement, ambiguous: d.ambiguous, position: d.position}]->(b)"
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
# Tables a CREATE_VIEW statement of the transaction writes: views, whatever they were.
SET_VIEW_KINDS = "UNWIND $fqns AS fqn MATCH (t:Table {fqn: fqn}) SET t.kind = 'view'"
SET_TABLE_KINDS = (
    "UNWIND $fqns AS fqn MATCH (t:Table {fqn: fqn}) "
    "SET t.kind = CASE WHEN EXISTS { (:Statement {kind: 'CREATE_VIEW'})-[:WRITES]->(t) } THEN 'view' ELSE 'table' END"
)

# -- Contract v2: external locations and routines --------------------------------------------
MERGE_LOCATIONS = "UNWIND $rows AS r MERGE (l:Location {uri: r.uri}) SET l.scheme = r.scheme"
MERGE_ROUTINES = (
    "UNWIND $rows AS r MERGE (p:Routine {fqn: r.fqn}) SET p.name = r.name, p.db = r.db, p.catalog = r.catalog"
)
CREATE_LOCATION_READS = (
    "UNWIND $rows AS r MATCH (s:Statement {id: r.statement}) MATCH (l:Location {uri: r.uri}) CREATE (s)-[:READS]->(l)"
)
CREATE_LOCATION_WRITES = (
    "UNWIND $rows AS r MATCH (s:Statement {id: r.statement}) MATCH (l:Location {uri: r.uri}) CREATE (s)-[:WRITES]->(l)"
)
CREATE_TABLE_LOCATION_DEPENDS_ON = (
    "UNWIND $rows AS r MATCH (a:Table {fqn: r.target}) MATCH (b:Location {uri: r.source}) "
    "CREATE (a)-[:DEPENDS_ON {file: r.file}]->(b)"
)
CREATE_LOCATION_TABLE_DEPENDS_ON = (
    "UNWIND $rows AS r MATCH (a:Location {uri: r.target}) MATCH (b:Table {fqn: r.source}) "
    "CREATE (a)-[:DEPENDS_ON {file: r.file}]->(b)"
)
CREATE_IN_ROUTINE = (
    "UNWIND $rows AS r MATCH (s:Statement {id: r.statement}) MATCH (p:Routine {fqn: r.routine}) CREATE (s)-[:IN_ROUTINE]->(p)"
)
CREATE_DEFINES_ROUTINE = (
    "UNWIND $rows AS r MATCH (s:Statement {id: r.statement}) MATCH (p:Routine {fqn: r.routine}) "
    "CREATE (s)-[:DEFINES_ROUTINE {kind: r.kind}]->(p)"
)
CREATE_CALLS = (
    "UNWIND $rows AS r MATCH (s:Statement {id: r.statement}) MATCH (p:Routine {fqn: r.routine}) CREATE (s)-[:CALLS]->(p)"
)
DELETE_ORPHAN_LOCATIONS = (
    "UNWIND $uris AS uri MATCH (l:Location {uri: uri}) "
    "WHERE NOT EXISTS { (:Statement)-[:READS|WRITES]->(l) } DETACH DELETE l"
)
DELETE_ORPHAN_ROUTINES = (
    "UNWIND $fqns AS fqn MATCH (p:Routine {fqn: fqn}) "
    "WHERE NOT EXISTS { (:Statement)-[:IN_ROUTINE|DEFINES_ROUTINE|CALLS]->(p) } DETACH DELETE p"
)
# A routine's kind (procedure, function, trigger, package) comes from a statement that defines it.
SET_ROUTINE_KINDS = (
    "UNWIND $fqns AS fqn MATCH (p:Routine {fqn: fqn}) "
    "SET p.kind = head([(:Statement)-[d:DEFINES_ROUTINE]->(p) | d.kind])"
)

COUNTS = (
    "CALL () { MATCH (n) RETURN count(n) AS nodes } "
    "CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships } "
    "RETURN nodes, relationships"
)
