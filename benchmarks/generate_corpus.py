"""Deterministic generator of a realistic warehouse of SQL files, for the benchmarks.

The warehouse has four layers that read each other, so the lineage graph is connected:

    raw/<system>/*.sql          CREATE TABLE with columns (plus COMMENT / GRANT in Postgres files)
    staging/<system>/*.sql      CTAS and views over raw tables: casts, renames, ROW_NUMBER dedupe
    intermediate/*.sql          INSERT ... SELECT / MERGE / CTAS joining staging tables, CTEs, windows
    marts/<area>/*.sql          reporting tables and views: several CTEs, joins, aggregates, windows
    maintenance/*.sql           UPDATE ... FROM, DELETE, MERGE, TRUNCATE + INSERT, transactions

Files are written in five dialects, named by a first-line `-- dialect: <name>` comment: postgres,
bigquery (backtick-quoted `dataset.table` names), snowflake (double-quoted lower-case names, so they
resolve to the same tables as the other dialects' unquoted lower-case names), spark, and the generic
dialect (no comment). Sizes are 20-300 lines with about 2% of files much bigger; about 1% of files
contain one statement with a syntax error, as real warehouses do.

Same (files, seed) -> byte-identical output.

    python benchmarks/generate_corpus.py OUT_DIR --files 1000 --seed 42
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_FILES = 1000
DEFAULT_SEED = 42

DIALECTS = ("postgres", "bigquery", "snowflake", "spark", "default")
DIALECT_WEIGHTS = (0.26, 0.24, 0.2, 0.15, 0.15)

SYSTEMS = (
    "shop", "crm", "billing", "web", "inventory", "marketing",
    "support", "finance", "logistics", "hr", "payments", "product",
)
ENTITIES = (
    "orders", "order_items", "customers", "accounts", "invoices", "payments", "sessions", "events",
    "products", "shipments", "refunds", "subscriptions", "tickets", "campaigns", "leads", "contacts",
    "employees", "stores", "warehouses", "suppliers", "transactions", "ledger_entries", "page_views",
    "clicks", "returns", "carts", "coupons", "reviews",
)
MART_AREAS = ("sales", "finance", "marketing", "operations", "product", "people")
MART_NOUNS = (
    "revenue", "orders", "customers", "retention", "cohorts", "funnel", "churn", "margin", "inventory",
    "fulfilment", "attribution", "pipeline", "headcount", "tickets", "subscriptions", "payments", "traffic",
    "ltv", "arpu", "refund_rate", "stock_levels", "campaign_roi", "nps", "sla",
)
_DOC_WORDS = (
    "grain", "one", "row", "per", "customer", "day", "order", "deduplicated", "latest", "version", "of", "each",
    "record", "late", "arriving", "facts", "are", "merged", "nightly", "see", "runbook", "before", "changing",
    "filters", "exclude", "test", "accounts", "amounts", "in", "reporting", "currency", "source", "loader",
    "backfilled", "from", "history", "owned", "by", "analytics", "engineering", "keep", "in", "sync", "with",
)
SHARED_KEYS = ("customer_id", "account_id", "product_id", "order_id", "store_id", "employee_id", "campaign_id")
STR_COLS = (
    "status", "channel", "country_code", "currency", "email", "first_name", "last_name", "city", "region",
    "category", "sku", "source", "medium", "device_type", "plan_name", "priority", "carrier", "reason",
)
NUM_COLS = (
    "amount", "net_amount", "tax_amount", "discount_amount", "unit_price", "quantity_ordered", "cost",
    "balance", "fee", "weight_kg", "score", "duration_seconds",
)
TS_COLS = ("created_at", "updated_at", "shipped_at", "closed_at", "paid_at", "deleted_at", "event_ts")
DATE_COLS = ("order_date", "invoice_date", "event_date", "valid_from", "valid_to", "signup_date")
BOOL_COLS = ("is_active", "is_test", "is_deleted", "is_refunded", "converted", "is_primary")

TYPES = {
    "postgres": {"id": "BIGINT", "str": "TEXT", "num": "NUMERIC(18, 2)", "ts": "TIMESTAMP", "date": "DATE", "bool": "BOOLEAN"},
    "bigquery": {"id": "INT64", "str": "STRING", "num": "NUMERIC", "ts": "TIMESTAMP", "date": "DATE", "bool": "BOOL"},
    "snowflake": {"id": "NUMBER(38, 0)", "str": "VARCHAR", "num": "NUMBER(18, 2)", "ts": "TIMESTAMP_NTZ", "date": "DATE", "bool": "BOOLEAN"},
    "spark": {"id": "BIGINT", "str": "STRING", "num": "DECIMAL(18, 2)", "ts": "TIMESTAMP", "date": "DATE", "bool": "BOOLEAN"},
    "default": {"id": "BIGINT", "str": "VARCHAR", "num": "DECIMAL(18, 2)", "ts": "TIMESTAMP", "date": "DATE", "bool": "BOOLEAN"},
}


@dataclass
class Table:
    db: str
    name: str
    columns: list[tuple[str, str]]  # (name, kind) with kind in id/str/num/ts/date/bool
    keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not any(kind == "ts" for _, kind in self.columns):
            self.columns = [*self.columns, ("updated_at", "ts")]
        if not self.keys:
            self.keys = [self.columns[0][0]]

    @property
    def fqn(self) -> str:
        return f"{self.db}.{self.name}"

    @property
    def pk(self) -> str:
        return self.columns[0][0]

    def cols(self, kind: str) -> list[str]:
        return [c for c, k in self.columns if k == kind]


@dataclass
class CorpusSummary:
    out_dir: str
    files: int
    seed: int
    bytes: int
    lines: int
    dialects: dict[str, int]
    layers: dict[str, int]
    planned_statements: dict[str, int]
    files_with_syntax_error: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class _Sql:
    """Dialect-specific spelling of the few things that differ."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.types = TYPES[dialect]

    def t(self, table: Table) -> str:
        if self.dialect == "bigquery":
            return f"`{table.db}.{table.name}`"
        if self.dialect == "snowflake":
            return f'"{table.db}"."{table.name}"'
        return f"{table.db}.{table.name}"

    def month(self, col: str) -> str:
        if self.dialect == "bigquery":
            return f"DATE_TRUNC(CAST({col} AS DATE), MONTH)"
        return f"DATE_TRUNC('month', {col})"

    def days_ago(self, days: int) -> str:
        return {
            "postgres": f"CURRENT_DATE - INTERVAL '{days} days'",
            "bigquery": f"DATE_SUB(CURRENT_DATE(), INTERVAL {days} DAY)",
            "snowflake": f"DATEADD(day, -{days}, CURRENT_DATE())",
            "spark": f"DATE_SUB(CURRENT_DATE(), {days})",
            "default": f"CURRENT_DATE - INTERVAL '{days}' DAY",
        }[self.dialect]

    def now(self) -> str:
        return "CURRENT_TIMESTAMP()" if self.dialect in ("bigquery", "snowflake") else "CURRENT_TIMESTAMP"

    def ctas(self, table: Table) -> str:
        if self.dialect == "postgres":
            return f"DROP TABLE IF EXISTS {self.t(table)};\n\nCREATE TABLE {self.t(table)} AS"
        if self.dialect == "spark":
            return f"CREATE OR REPLACE TABLE {self.t(table)}\nUSING DELTA\nAS"
        return f"CREATE OR REPLACE TABLE {self.t(table)} AS"

    def view(self, table: Table, materialized: bool = False) -> str:
        if materialized and self.dialect == "postgres":
            return f"DROP MATERIALIZED VIEW IF EXISTS {self.t(table)};\n\nCREATE MATERIALIZED VIEW {self.t(table)} AS"
        return f"CREATE OR REPLACE VIEW {self.t(table)} AS"

    @property
    def supports_qualify(self) -> bool:
        return self.dialect in ("bigquery", "snowflake")

    @property
    def supports_update_from(self) -> bool:
        return self.dialect != "spark"


class _Generator:
    def __init__(self, files: int, seed: int) -> None:
        self.n = files
        self.rng = random.Random(seed)
        self.seed = seed
        self.kinds: Counter[str] = Counter()
        self.errors = 0
        self.raw: list[Table] = []
        self.staging: list[Table] = []
        self.intermediate: list[Table] = []
        self.marts: list[Table] = []
        self._names: set[str] = set()

    # -- tables --------------------------------------------------------------------------------

    def _unique(self, db: str, base: str) -> str:
        name, version = base, 1
        while f"{db}.{name}" in self._names:
            version += 1
            name = f"{base}_v{version}"
        self._names.add(f"{db}.{name}")
        return name

    def _columns(self, entity: str) -> tuple[list[tuple[str, str]], list[str]]:
        rng = self.rng
        singular = entity[:-1] if entity.endswith("s") else entity
        pk = f"{singular}_id"
        keys = [k for k in rng.sample(SHARED_KEYS, rng.randint(1, 3)) if k != pk]
        columns: list[tuple[str, str]] = [(pk, "id"), *((k, "id") for k in keys)]
        for pool, kind, low, high in (
            (STR_COLS, "str", 2, 8),
            (NUM_COLS, "num", 1, 6),
            (TS_COLS, "ts", 2, 4),
            (DATE_COLS, "date", 0, 2),
            (BOOL_COLS, "bool", 0, 3),
        ):
            columns.extend((c, kind) for c in rng.sample(pool, min(len(pool), rng.randint(low, high))))
        if rng.random() < 0.35:  # wide tables exist too
            columns.extend((f"attribute_{i:02d}", rng.choice(("str", "num"))) for i in range(rng.randint(10, 40)))
        if not any(k == "ts" and c == "updated_at" for c, k in columns):
            columns.append(("updated_at", "ts"))
        return columns, [pk, *keys]

    def _new_table(self, db: str, base: str, entity: str) -> Table:
        columns, keys = self._columns(entity)
        return Table(db, self._unique(db, base), columns, keys)

    def _derived(self, db: str, base: str, sources: list[Table]) -> Table:
        """A table whose columns come from its sources (first source's key first)."""
        seen: dict[str, str] = {}
        for source in sources:
            for name, kind in source.columns:
                seen.setdefault(name, kind)
        columns = list(seen.items())
        limit = self.rng.randint(12, 40)
        keys = [c for c, k in columns if k == "id"][:4]
        return Table(db, self._unique(db, base), columns[:limit], keys)

    # -- files ---------------------------------------------------------------------------------

    def generate(self) -> list[tuple[str, str, str]]:
        """(relative path, dialect, text) for every file."""
        n = self.n
        counts = {
            "raw": max(1, round(n * 0.18)),
            "staging": max(1, round(n * 0.30)),
            "intermediate": max(1, round(n * 0.20)),
            "marts": max(1, round(n * 0.22)),
        }
        counts["maintenance"] = max(0, n - sum(counts.values()))
        while sum(counts.values()) > n:  # tiny corpora: trim from the top layers
            layer = max(counts, key=lambda k: counts[k])
            counts[layer] -= 1
        files: list[tuple[str, str, str]] = []
        broken = set(self.rng.sample(range(n), max(0, n // 100)))
        makers = (
            ("raw", self._raw_file),
            ("staging", self._staging_file),
            ("intermediate", self._intermediate_file),
            ("marts", self._mart_file),
            ("maintenance", self._maintenance_file),
        )
        index = 0
        for layer, maker in makers:
            for i in range(counts[layer]):
                dialect = self.rng.choices(DIALECTS, DIALECT_WEIGHTS)[0]
                sql = _Sql(dialect)
                big = self.rng.random() < 0.02
                path, statements = maker(sql, i, big)
                if index in broken:
                    statements.insert(self.rng.randint(0, len(statements)), self._broken_statement(sql))
                    self.errors += 1
                text = self._render(sql, path, statements)
                self.kinds["DROP_TABLE"] += text.count("DROP TABLE IF EXISTS")
                self.kinds["DROP_VIEW"] += text.count("DROP MATERIALIZED VIEW IF EXISTS")
                files.append((path, dialect, text))
                index += 1
        self.layer_counts = counts
        return files

    def _render(self, sql: _Sql, path: str, statements: list[str]) -> str:
        header = []
        if sql.dialect != "default":
            header.append(f"-- dialect: {sql.dialect}")
        header.append(f"-- {path}: generated benchmark model (seed {self.seed}); do not edit by hand.")
        rng = self.rng
        header.append(f"-- owner: team-{rng.choice(MART_AREAS)}   schedule: {rng.choice(('hourly', 'daily', 'weekly'))}")
        for _ in range(rng.randint(1, 8)):
            header.append("-- " + " ".join(rng.choice(_DOC_WORDS) for _ in range(rng.randint(6, 14))))
        return "\n".join(header) + "\n\n" + ";\n\n".join(s.strip() for s in statements) + ";\n"

    def _broken_statement(self, sql: _Sql) -> str:
        source = self.rng.choice(self.raw)
        return self.rng.choice(
            (
                f"SELECT {source.pk}, FROM {sql.t(source)} WHERE",  # trailing comma and dangling WHERE
                f"SELECT ({source.pk} + 1 FROM {sql.t(source)}",  # unbalanced parenthesis
                f"INSERT INTO {sql.t(source)} SELECT * FROM WHERE 1 = 1",
            )
        )

    # raw: DDL --------------------------------------------------------------------------------

    def _raw_file(self, sql: _Sql, i: int, big: bool) -> tuple[str, list[str]]:
        rng = self.rng
        system = SYSTEMS[i % len(SYSTEMS)]
        statements: list[str] = []
        tables = []
        for _ in range(rng.randint(4, 10) if big else rng.choice((1, 1, 1, 2, 2, 3))):
            entity = rng.choice(ENTITIES)
            table = self._new_table("raw", f"{system}_{entity}", entity)
            self.raw.append(table)
            tables.append(table)
            statements.extend(self._create_table(sql, table))
        return f"raw/{system}/{tables[0].name}.sql", statements

    def _create_table(self, sql: _Sql, table: Table) -> list[str]:
        lines = []
        for name, kind in table.columns:
            not_null = " NOT NULL" if name == table.pk else ""
            lines.append(f"    {name} {sql.types[kind]}{not_null}")
        if sql.dialect in ("postgres", "default", "snowflake"):
            lines.append(f"    PRIMARY KEY ({table.pk})")
        body = ",\n".join(lines)
        suffix = ""
        ts = table.cols("ts")[0]
        if sql.dialect == "bigquery":
            suffix = f"\nPARTITION BY DATE({ts})\nCLUSTER BY {table.pk}"
        elif sql.dialect == "spark":
            suffix = "\nUSING DELTA"
        statements = [f"CREATE TABLE IF NOT EXISTS {sql.t(table)} (\n{body}\n){suffix}"]
        self.kinds["CREATE_TABLE"] += 1
        if sql.dialect == "postgres":
            statements.append(f"COMMENT ON TABLE {sql.t(table)} IS 'Landed by the {table.name.split('_')[0]} loader'")
            statements.append(f"GRANT SELECT ON {sql.t(table)} TO analyst")
            self.kinds["COMMENT"] += 1
            self.kinds["GRANT"] += 1
        return statements

    # staging: cleaning CTAS / views ------------------------------------------------------------

    def _clean_expr(self, sql: _Sql, alias: str, name: str, kind: str) -> str:
        col = f"{alias}.{name}"
        choice = self.rng.random()
        if kind == "id":
            return f"CAST({col} AS {sql.types['id']}) AS {name}"
        if kind == "str":
            if choice < 0.4:
                return f"LOWER(TRIM({col})) AS {name}"
            if choice < 0.7:
                return f"NULLIF(TRIM({col}), '') AS {name}"
            return f"COALESCE({col}, 'unknown') AS {name}"
        if kind == "num":
            return f"ROUND(CAST({col} AS {sql.types['num']}), 2) AS {name}" if choice < 0.6 else f"COALESCE({col}, 0) AS {name}"
        if kind == "ts":
            return f"CAST({col} AS {sql.types['ts']}) AS {name}"
        if kind == "date":
            return f"CAST({col} AS DATE) AS {name}"
        return f"COALESCE({col}, FALSE) AS {name}"

    def _staging_file(self, sql: _Sql, i: int, big: bool) -> tuple[str, list[str]]:
        rng = self.rng
        source = self.raw[(i * 7 + rng.randint(0, 3)) % len(self.raw)]
        base = "stg_" + source.name
        target = self._derived("staging", base, [source])
        target.columns = list(source.columns)
        self.staging.append(target)
        ts = source.cols("ts")[-1]
        cleaned = ",\n".join(f"        {self._clean_expr(sql, 'src', c, k)}" for c, k in source.columns)
        dedupe = f"ROW_NUMBER() OVER (PARTITION BY src.{source.pk} ORDER BY src.{ts} DESC)"
        extra_source = ""
        if rng.random() < 0.35 and len(self.raw) > 1:
            other = rng.choice(self.raw)
            key = next((k for k in source.keys if k in other.keys), other.pk)
            extra_source = f"\n    LEFT JOIN {sql.t(other)} AS ref\n        ON ref.{key} = src.{key}"
        deleted_filter = "\n    WHERE src.is_deleted IS NOT TRUE" if "is_deleted" in dict(source.columns) else ""
        if sql.supports_qualify and rng.random() < 0.5:
            body = (
                f"WITH source AS (\n    SELECT\n{cleaned},\n        {sql.now()} AS _loaded_at\n"
                f"    FROM {sql.t(source)} AS src{extra_source}{deleted_filter}\n"
                f"    QUALIFY {dedupe} = 1\n)\nSELECT *\nFROM source"
            )
        else:
            body = (
                f"WITH source AS (\n    SELECT\n{cleaned},\n        {dedupe} AS _row_number\n"
                f"    FROM {sql.t(source)} AS src{extra_source}{deleted_filter}\n),\n"
                f"deduplicated AS (\n    SELECT *\n    FROM source\n    WHERE _row_number = 1\n)\n"
                f"SELECT\n" + ",\n".join(f"    {c}" for c, _ in source.columns) + f",\n    {sql.now()} AS _loaded_at\nFROM deduplicated"
            )
        statements = []
        if rng.random() < 0.3:
            statements.append(f"{sql.view(target)}\n{body}")
            self.kinds["CREATE_VIEW"] += 1
        else:
            statements.append(f"{sql.ctas(target)}\n{body}")
            self.kinds["CREATE_TABLE"] += 1
        if big:
            for j in range(rng.randint(6, 14)):
                statements.append(self._snapshot_insert(sql, target, source, j))
        system = source.name.split("_")[0]
        return f"staging/{system}/{target.name}.sql", statements

    def _snapshot_insert(self, sql: _Sql, target: Table, source: Table, j: int) -> str:
        cols = [c for c, _ in source.columns]
        ts = source.cols("ts")[0]
        self.kinds["INSERT"] += 1
        return (
            f"-- backfill slice {j}\nINSERT INTO {sql.t(target)} ({', '.join(cols)}, _loaded_at)\nSELECT\n"
            + ",\n".join(f"    {self._clean_expr(sql, 's', c, k)}" for c, k in source.columns)
            + f",\n    {sql.now()}\nFROM {sql.t(source)} AS s\nWHERE s.{ts} >= {sql.days_ago(30 * (j + 1))}\n"
            f"  AND s.{ts} < {sql.days_ago(30 * j)}"
        )

    # intermediate: joins ----------------------------------------------------------------------

    def _pick(self, pool: list[Table], count: int) -> list[Table]:
        count = min(count, len(pool))
        return self.rng.sample(pool, count) if count else []

    def _join_query(self, sql: _Sql, sources: list[Table], ctes: int) -> str:
        """A SELECT over sources: the first `ctes` sources pre-aggregated in CTEs (with a window
        function over the aggregate), joined to the first source, plus a ROW_NUMBER over the result."""
        rng = self.rng
        base = sources[0]
        parts = []
        for n, source in enumerate(sources[:ctes]):
            num = source.cols("num")[:3] or [source.pk]
            ts = source.cols("ts")[0]
            keys = source.keys[:2]
            group = ", ".join(keys)
            measure = f"total_{num[0]}"
            window = rng.choice(
                (
                    f"SUM({measure}) OVER (PARTITION BY {keys[0]} ORDER BY month ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)",
                    f"LAG({measure}) OVER (PARTITION BY {keys[0]} ORDER BY month)",
                    f"DENSE_RANK() OVER (PARTITION BY month ORDER BY {measure} DESC)",
                    f"AVG({measure}) OVER (PARTITION BY {keys[0]})",
                )
            )
            measures = ",\n".join(f"        SUM({c}) AS total_{c},\n        AVG({c}) AS avg_{c}" for c in num)
            parts.append(
                f"agg_{n} AS (\n    SELECT\n        {group},\n        {sql.month(ts)} AS month,\n"
                f"        COUNT(*) AS row_count,\n{measures}\n    FROM {sql.t(source)}\n"
                f"    WHERE {ts} >= {sql.days_ago(rng.choice((90, 180, 365, 730)))}\n"
                f"    GROUP BY {group}, {sql.month(ts)}\n)"
            )
            parts.append(
                f"ranked_{n} AS (\n    SELECT\n        a.*,\n        {window} AS window_value\n    FROM agg_{n} AS a\n)"
            )
        select_cols = [f"    b.{c}" for c, _ in base.columns[: rng.randint(4, 12)]]
        joins = []
        for n, source in enumerate(sources):
            key = next((k for k in source.keys if k in base.keys), base.keys[0])
            alias = f"j{n}"
            if n < ctes:
                joins.append(f"LEFT JOIN ranked_{n} AS {alias}\n    ON {alias}.{key} = b.{key}")
                select_cols.append(f"    {alias}.row_count AS {alias}_row_count")
                select_cols.append(f"    {alias}.window_value AS {alias}_window_value")
            elif n > 0:
                join_kind = rng.choice(("JOIN", "LEFT JOIN", "LEFT JOIN", "INNER JOIN"))
                joins.append(f"{join_kind} {sql.t(source)} AS {alias}\n    ON {alias}.{key} = b.{key}")
                select_cols.extend(f"    {alias}.{c} AS {alias}_{c}" for c, _ in source.columns[1 : rng.randint(3, 8)])
        ts_base = base.cols("ts")[0]
        select_cols.append(
            f"    ROW_NUMBER() OVER (PARTITION BY b.{base.keys[0]} ORDER BY b.{ts_base} DESC) AS recency_rank"
        )
        with_ = ("WITH " + ",\n".join(parts) + "\n") if parts else ""
        condition = f"b.{ts_base} >= {sql.days_ago(rng.choice((7, 30, 365)))}"
        return (
            f"{with_}SELECT\n" + ",\n".join(select_cols) + f"\nFROM {sql.t(base)} AS b\n" + "\n".join(joins)
            + f"\nWHERE {condition}"
        )

    def _intermediate_file(self, sql: _Sql, i: int, big: bool) -> tuple[str, list[str]]:
        rng = self.rng
        sources = self._pick(self.staging, rng.randint(2, 4))
        if self.intermediate and rng.random() < 0.3:
            sources.append(rng.choice(self.intermediate))
        name = "int_" + "_".join(s.name.replace("stg_", "").split("_")[1] for s in sources[:2]) + "_joined"
        target = self._derived("intermediate", name, sources)
        query = self._join_query(sql, sources, ctes=rng.randint(1, min(3, len(sources))))
        mode = rng.random()
        statements = []
        if mode < 0.4:
            statements.append(f"{sql.ctas(target)}\n{query}")
            self.kinds["CREATE_TABLE"] += 1
        elif mode < 0.7:
            statements.extend(self._create_table(sql, target))
            if sql.dialect == "spark":
                statements.append(f"INSERT OVERWRITE TABLE {sql.t(target)}\n{query}")
            else:
                statements.append(f"INSERT INTO {sql.t(target)}\n{query}")
            self.kinds["INSERT"] += 1
        else:
            statements.extend(self._create_table(sql, target))
            statements.append(self._merge(sql, target, sources[0], query))
        if big:
            for j in range(rng.randint(5, 12)):
                more = self._pick(self.staging, rng.randint(2, 4))
                statements.append(f"INSERT INTO {sql.t(target)}\n{self._join_query(sql, more, ctes=2)}")
                self.kinds["INSERT"] += 1
        self.intermediate.append(target)
        return f"intermediate/{target.name}.sql", statements

    def _merge(self, sql: _Sql, target: Table, source: Table, query: str | None = None) -> str:
        cols = [c for c, _ in source.columns[:10]]
        using = f"(\n{query}\n)" if query else sql.t(source)
        key = source.pk
        updates = ",\n        ".join(f"{c} = s.{c}" for c in cols[1:])
        self.kinds["MERGE"] += 1
        into = "MERGE" if sql.dialect == "bigquery" else "MERGE INTO"
        return (
            f"{into} {sql.t(target)} AS t\nUSING {using} AS s\n    ON t.{key} = s.{key}\n"
            f"WHEN MATCHED THEN UPDATE SET\n        {updates}\n"
            f"WHEN NOT MATCHED THEN INSERT ({', '.join(cols)})\n    VALUES ({', '.join('s.' + c for c in cols)})"
        )

    # marts: reporting ---------------------------------------------------------------------------

    def _mart_file(self, sql: _Sql, i: int, big: bool) -> tuple[str, list[str]]:
        rng = self.rng
        area = MART_AREAS[i % len(MART_AREAS)]
        pool = self.intermediate + self.staging[: max(1, len(self.staging) // 2)]
        sources = self._pick(pool, rng.randint(2, 6))
        if self.marts and rng.random() < 0.35:
            sources.append(rng.choice(self.marts))
        prefix = rng.choice(("fct", "dim", "rpt", "agg"))
        target = self._derived("marts", f"{prefix}_{rng.choice(MART_NOUNS)}", sources)
        statements = []
        query = self._join_query(sql, sources, ctes=rng.randint(2, min(4, len(sources))) if len(sources) > 1 else 1)
        if prefix == "rpt" or rng.random() < 0.2:
            statements.append(f"{sql.view(target, materialized=rng.random() < 0.3)}\n{query}")
            self.kinds["CREATE_VIEW"] += 1
        else:
            statements.append(f"{sql.ctas(target)}\n{query}")
            self.kinds["CREATE_TABLE"] += 1
        if big:
            for j in range(rng.randint(8, 20)):
                more = self._pick(pool, rng.randint(3, 5))
                sub = self._derived("marts", f"{target.name}_part_{j}", more)
                statements.append(f"{sql.ctas(sub)}\n{self._join_query(sql, more, ctes=3)}")
                self.kinds["CREATE_TABLE"] += 1
                self.marts.append(sub)
        elif rng.random() < 0.3:
            # A summary view on top of the mart table, in the same file.
            summary = Table("marts", self._unique("marts", f"{target.name}_summary"), target.columns[:6], target.keys)
            key = target.keys[0] if target.keys else target.pk
            nums = [c for c, k in target.columns if k == "num"][:3] or [target.pk]
            statements.append(
                f"{sql.view(summary)}\nSELECT\n    {key},\n    COUNT(*) AS rows_in_group,\n"
                + ",\n".join(f"    SUM({c}) AS sum_{c}" for c in nums)
                + f"\nFROM {sql.t(target)}\nGROUP BY {key}"
            )
            self.kinds["CREATE_VIEW"] += 1
            self.marts.append(summary)
        self.marts.append(target)
        return f"marts/{area}/{target.name}.sql", statements

    # maintenance: DML ---------------------------------------------------------------------------

    def _maintenance_file(self, sql: _Sql, i: int, big: bool) -> tuple[str, list[str]]:
        rng = self.rng
        statements: list[str] = []
        targets = self._pick(self.intermediate + self.marts, rng.randint(2, 5) * (4 if big else 1))
        transactional = sql.dialect in ("postgres", "snowflake") and rng.random() < 0.5
        if transactional:
            statements.append("BEGIN TRANSACTION" if sql.dialect == "snowflake" else "BEGIN")
            self.kinds["TRANSACTION"] += 1
        for target in targets:
            source = rng.choice(self.staging)
            ts = target.cols("ts")[0] if target.cols("ts") else "updated_at"
            key = next((k for k in target.keys if k in source.keys), target.pk)
            action = rng.random()
            if action < 0.3 and sql.supports_update_from:
                sets = ",\n    ".join(f"{c} = s.{c}" for c, k in target.columns[1:6] if k != "id") or f"{ts} = s.{ts}"
                statements.append(
                    f"UPDATE {sql.t(target)} AS t\nSET\n    {sets}\nFROM {sql.t(source)} AS s\n"
                    f"WHERE t.{key} = s.{key}\n  AND s.updated_at > t.{ts}"
                )
                self.kinds["UPDATE"] += 1
            elif action < 0.55:
                if sql.dialect in ("postgres", "snowflake"):
                    statements.append(
                        f"DELETE FROM {sql.t(target)} AS t\nUSING {sql.t(source)} AS s\n"
                        f"WHERE t.{key} = s.{key}\n  AND s.is_deleted"
                        if sql.dialect == "postgres"
                        else f"DELETE FROM {sql.t(target)}\nUSING {sql.t(source)} AS s\n"
                        f"WHERE {sql.t(target)}.{key} = s.{key}"
                    )
                else:
                    statements.append(
                        f"DELETE FROM {sql.t(target)}\nWHERE {key} IN (\n    SELECT {key}\n    FROM {sql.t(source)}\n"
                        f"    WHERE updated_at < {sql.days_ago(rng.choice((365, 730, 1095)))}\n)"
                    )
                self.kinds["DELETE"] += 1
            elif action < 0.8:
                statements.append(self._merge(sql, target, source))
            else:
                statements.append(f"TRUNCATE TABLE {sql.t(target)}")
                self.kinds["TRUNCATE"] += 1
                cols = [c for c, _ in source.columns[:8]]
                statements.append(
                    f"INSERT INTO {sql.t(target)} ({', '.join(cols)})\nSELECT\n"
                    + ",\n".join(f"    {c}" for c in cols)
                    + f"\nFROM {sql.t(source)}\nWHERE updated_at >= {sql.days_ago(rng.choice((1, 2, 7)))}"
                )
                self.kinds["INSERT"] += 1
        if transactional:
            statements.append("COMMIT")
            self.kinds["COMMIT"] += 1
        return f"maintenance/{sql.dialect}/job_{i:04d}.sql", statements


def generate_corpus(out_dir: str | Path, files: int = DEFAULT_FILES, seed: int = DEFAULT_SEED) -> CorpusSummary:
    """Write `files` SQL files under out_dir (created; existing .sql files there are removed first)."""
    if files < 1:
        raise ValueError("files must be >= 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in sorted(out.rglob("*.sql")):
        old.unlink()
    generator = _Generator(files, seed)
    total_bytes = total_lines = 0
    dialects: Counter[str] = Counter()
    used: set[str] = set()
    for path, dialect, text in generator.generate():
        if path in used:  # two files for the same table name: keep both
            stem, n = path[:-4], 2
            while f"{stem}_{n}.sql" in used:
                n += 1
            path = f"{stem}_{n}.sql"
        used.add(path)
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        target.write_bytes(data)
        total_bytes += len(data)
        total_lines += text.count("\n")
        dialects[dialect] += 1
    return CorpusSummary(
        out_dir=str(out),
        files=files,
        seed=seed,
        bytes=total_bytes,
        lines=total_lines,
        dialects=dict(sorted(dialects.items())),
        layers=dict(generator.layer_counts),
        planned_statements=dict(sorted(generator.kinds.items())),
        files_with_syntax_error=generator.errors,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="folder to write the .sql files into (created)")
    parser.add_argument("--files", type=int, default=DEFAULT_FILES, help=f"number of files (default {DEFAULT_FILES})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    summary = generate_corpus(args.out_dir, args.files, args.seed)
    print(json.dumps(summary.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
