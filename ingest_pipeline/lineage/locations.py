"""External locations: paths, URIs and stages a statement reads or writes. A location is never a table.

Recognised forms: a string literal where a statement names files (`COPY ... FROM 's3://...'`,
`LOAD DATA INPATH '...'`, `INSERT OVERWRITE DIRECTORY '...'`, `LOCATION '...'`, `uris = [...]`,
`EXPORT DATA OPTIONS (uri = ...)`), a Snowflake stage (`@stage/path`, `@~`, `@%table`), and a
Spark / Databricks file source `format.`path`` (`parquet.`/data/x``, `delta.`s3://b/t``).

Locations are kept as written, except a stage name, which is an identifier and is normalised like
one (`@my_stage/Path` in Snowflake -> `@MY_STAGE/Path`).
"""

from __future__ import annotations

from sqlglot import exp

from ingest_pipeline.lineage.context import Context
from ingest_pipeline.lineage.names import Names

# Table functions that read files named by their first argument.
FILE_READERS = frozenset(
    {"read_files", "read_parquet", "read_csv", "read_csv_auto", "read_json", "read_json_auto", "read_ndjson",
     "parquet_scan", "read_text", "read_blob"}
)
# Spark data sources that can be queried as `format.`path``.
FILE_FORMATS = frozenset(
    {"parquet", "json", "csv", "orc", "avro", "delta", "text", "binaryfile", "iceberg", "hudi", "xml"}
)


def table_location(context: Context, table: exp.Table) -> str | None:
    """The location a Table node stands for (a stage, a literal path, `format.`path``), or None."""
    this = table.this
    if isinstance(this, exp.Var) and this.name.startswith("@"):
        return stage(context.names, this.name)
    if isinstance(this, exp.Literal) and this.is_string:
        return literal_location(this)
    if isinstance(this, exp.Identifier) and this.args.get("quoted") and not table.args.get("catalog"):
        db = table.args.get("db")
        if db is None and "://" in this.name:
            return this.name
        if isinstance(db, exp.Identifier) and db.name.lower() in FILE_FORMATS and _looks_like_path(this.name):
            return this.name
    if isinstance(this, exp.Func) and function_name(this) in FILE_READERS:
        return literal_location(this.expressions[0] if this.expressions else this.this)
    return None


def function_name(func: exp.Func) -> str:
    """A function's name in lower case, for known (typed) and unknown (anonymous) functions alike."""
    return (func.name if isinstance(func, exp.Anonymous) else func.sql_name()).lower()


def stage(names: Names, text: str) -> str:
    """`@name[/path]` with the stage name normalised as an identifier (`@~` and `@%table` too)."""
    body = text[1:]
    name, slash, path = body.partition("/")
    if name.startswith("~"):
        normalised = name
    elif name.startswith("%"):
        normalised = "%" + names.plain(name[1:])
    else:
        normalised = ".".join(
            part[1:-1] if len(part) > 1 and part[0] == part[-1] == '"' else names.plain(part) for part in name.split(".")
        )
    return f"@{normalised}{slash}{path}"


def property_location(context: Context, node: exp.Expression | None) -> str | None:
    """The location a `LOCATION` / `URL` property names: a literal or a stage."""
    if isinstance(node, exp.Var) and node.name.startswith("@"):
        return stage(context.names, node.name)
    return literal_location(node)


def literal_location(node: exp.Expression | None) -> str | None:
    """A string literal holding a path or URI (not STDIN / a program / an empty string)."""
    if isinstance(node, exp.Literal) and node.is_string:
        text = node.name.strip()
        return text or None
    return None


def literal_locations(node: exp.Expression | None) -> list[str]:
    """Every path in a literal or an array of literals (`uris = ['gs://a', 'gs://b']`)."""
    if not isinstance(node, exp.Expression):
        return []
    if isinstance(node, exp.Literal):
        found = literal_location(node)
        return [found] if found else []
    return [found for literal in node.find_all(exp.Literal) if (found := literal_location(literal))]


def option_locations(properties: exp.Expression | None, keys: tuple[str, ...]) -> list[str]:
    """Locations among `key = value` options (`uri`, `uris`, `location`, `url`)."""
    if not isinstance(properties, exp.Expression):
        return []
    found: list[str] = []
    for prop in properties.find_all(exp.Property):
        key = prop.this.name if isinstance(prop.this, (exp.Var, exp.Identifier, exp.Literal)) else str(prop.this or "")
        if key.lower() in keys:
            found.extend(literal_locations(prop.args.get("value")))
    return found


def _looks_like_path(text: str) -> bool:
    return "/" in text or ":" in text or "\\" in text
