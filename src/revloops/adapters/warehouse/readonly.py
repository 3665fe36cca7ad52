"""Read-only SQL over the revenue warehouse, for ``revloops sql`` and the MCP tool ``run_sql``.

A user's SQL passes three independent layers before any row comes back, so a gap in one is not a hole:

1. ``check_readonly`` parses it with sqlglot: exactly one statement, of an allowed kind (SELECT, set operations,
   WITH … SELECT, VALUES, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN [ANALYZE] of a query); every node of the tree is of an
   allowed type; no file-reading or escape function anywhere (CTEs and subqueries included); in table position only
   a few generator functions; no string, path, URL or file name used as a table (DuckDB's replacement scans).
2. ``run_readonly`` asks DuckDB's own parser (``extract_statements`` and ``json_serialize_sql``) about the same text
   and applies the same function and table rules to DuckDB's tree, so a difference between the two parsers (a
   comment, a quoting rule) cannot smuggle anything past layer 1.
3. The connection is read-only, with external access (files, network, ATTACH, COPY), extension install and
   autoload, Python replacement scans and every later ``SET`` turned off: even a query both parsers missed can read
   nothing but the warehouse and change nothing.

The statement that runs is the user's own text (without its trailing semicolon), so column names and semantics are
exactly DuckDB's for what was typed; the one rewrite is ``SHOW <table>`` into ``DESCRIBE <table>`` (what it means
for a table), because DuckDB's ``SHOW <name>`` shows the setting of that name when there is one.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.tokenizer_core import Token, TokenType

from revloops.core.errors import InputError

#: the most rows one call may ask for
MAX_ROWS_LIMIT = 100_000

_DIALECT = "duckdb"
_ALLOWED = "SELECT (and UNION, INTERSECT, EXCEPT), WITH … SELECT, VALUES, DESCRIBE, SHOW, SUMMARIZE and EXPLAIN"

#: the connection's defence in depth; every option is accepted at connect time by duckdb 1.x and 2.x
_CONNECT_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,  # no file, network, ATTACH, COPY, EXPORT, secrets directory
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "python_enable_replacements": False,  # `FROM df` must not read a Python object of this process
    "lock_configuration": True,  # last: no SET / RESET / PRAGMA can undo the above
}

#: statements refused on their first keyword, before parsing (some sqlglot cannot even parse)
_REFUSED_KEYWORDS = frozenset({
    "ABORT", "ALTER", "ANALYZE", "ATTACH", "BEGIN", "CALL", "CHECKPOINT", "COMMENT", "COMMIT", "COPY", "CREATE",
    "DEALLOCATE", "DELETE", "DETACH", "DROP", "END", "EXECUTE", "EXPORT", "FORCE", "GRANT", "IMPORT", "INSERT",
    "INSTALL", "LOAD", "MERGE", "PIVOT", "PIVOT_LONGER", "PIVOT_WIDER", "PRAGMA", "PREPARE", "REPLACE", "RESET",
    "REVOKE", "ROLLBACK", "SET", "START", "TRUNCATE", "UNPIVOT", "UPDATE", "UPSERT", "USE", "VACUUM",
})
#: a second keyword that belongs in the refused statement's name
_NAME_SECOND_WORD = {"EXPORT": {"DATABASE"}, "IMPORT": {"DATABASE"}, "FORCE": {"CHECKPOINT", "INSTALL"},
                     "COMMENT": {"ON"}, "SET": {"VARIABLE"}}
#: why a refused kind is refused, when "the warehouse is read-only" is not the whole story
_REFUSAL_REASON = {
    "PIVOT": "DuckDB runs the PIVOT statement as several statements; write SELECT … FROM t PIVOT (… FOR … IN (…))",
    "PIVOT_WIDER": "DuckDB runs the PIVOT statement as several statements",
    "PIVOT_LONGER": "DuckDB runs the UNPIVOT statement as several statements",
    "UNPIVOT": "DuckDB runs the UNPIVOT statement as several statements; write SELECT … FROM t UNPIVOT (…)",
}

#: statement nodes, wherever they appear in a tree (a data-modifying CTE, a root WITH … INSERT)
_STATEMENT_NAMES: dict[type[exp.Expr], str] = {
    exp.Insert: "INSERT", exp.Update: "UPDATE", exp.Delete: "DELETE", exp.Merge: "MERGE", exp.Create: "CREATE",
    exp.Drop: "DROP", exp.Alter: "ALTER", exp.TruncateTable: "TRUNCATE", exp.Copy: "COPY", exp.Attach: "ATTACH",
    exp.Detach: "DETACH", exp.Install: "INSTALL", exp.Pragma: "PRAGMA", exp.Set: "SET", exp.Use: "USE",
    exp.Transaction: "BEGIN", exp.Commit: "COMMIT", exp.Rollback: "ROLLBACK", exp.Analyze: "ANALYZE",
    exp.Comment: "COMMENT ON", exp.Export: "EXPORT", exp.LoadData: "LOAD", exp.Into: "SELECT … INTO",
    exp.Returning: "RETURNING", exp.Grant: "GRANT", exp.Revoke: "REVOKE", exp.Kill: "KILL",
    exp.Execute: "EXECUTE", exp.Refresh: "REFRESH", exp.Cache: "CACHE", exp.Uncache: "UNCACHE",
    exp.Lock: "LOCK", exp.Declare: "DECLARE", exp.Put: "PUT", exp.Get: "GET",
}

#: the node types a query may be made of (an allow-list: anything else is refused, naming it)
_ALLOWED_NODES: tuple[type[exp.Expr], ...] = (
    exp.Condition,  # expressions: columns, literals, operators, predicates, CASE, casts, every function call
    exp.Select, exp.SetOperation, exp.Subquery, exp.Values, exp.With, exp.CTE, exp.From, exp.Join, exp.Lateral,
    exp.Table, exp.TableAlias, exp.TableSample, exp.Pivot, exp.PivotAlias, exp.PivotAny, exp.UnpivotColumns,
    exp.Where, exp.Group, exp.GroupingSets, exp.Cube, exp.Rollup, exp.Having, exp.Qualify, exp.Order,
    exp.Ordered, exp.Limit, exp.LimitOptions, exp.Offset, exp.Fetch, exp.Distinct, exp.WindowSpec, exp.Filter,
    exp.WithinGroup, exp.IgnoreNulls, exp.RespectNulls, exp.HavingMax, exp.Identifier, exp.Star, exp.Alias,
    exp.Aliases, exp.PositionalColumn, exp.DataType, exp.DataTypeParam, exp.Interval, exp.IntervalSpan,
    exp.Lambda, exp.Comprehension, exp.Tuple, exp.Slice, exp.Var, exp.JSONPath, exp.JSONPathPart,
    exp.Describe, exp.Show, exp.Summarize,
)
#: expressions that are Conditions but have no place in a one-shot query
_PARAMETER_NODES: tuple[type[exp.Expr], ...] = (exp.Placeholder, exp.Parameter, exp.SessionParameter)
_QUERY_ROOTS: tuple[type[exp.Expr], ...] = (exp.Select, exp.SetOperation, exp.Values, exp.Subquery)
_ROOTS: tuple[type[exp.Expr], ...] = (*_QUERY_ROOTS, exp.Describe, exp.Show, exp.Summarize)
_SHOW_KINDS = frozenset({"TABLES", "ALL TABLES"})

#: functions that read files or the network, run SQL, reveal the environment or settings, or change state
_DENIED_FUNCTIONS = frozenset({
    "read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
    "read_json_objects", "read_json_objects_auto", "read_ndjson", "read_ndjson_auto", "read_ndjson_objects",
    "read_text", "read_blob", "read_duckdb", "read_xlsx", "glob", "sniff_csv", "parquet_metadata",
    "parquet_schema", "parquet_file_metadata", "parquet_kv_metadata", "parquet_full_metadata",
    "parquet_page_index", "parquet_bloom_probe", "delta_scan", "query", "query_table",
    "json_execute_serialized_sql", "getenv", "current_setting", "which_secret", "load_aws_credentials",
    "checkpoint", "force_checkpoint", "nextval", "currval", "setval", "enable_logging", "disable_logging",
    "truncate_duckdb_logs", "enable_profiling", "disable_profiling", "add_grammar_extension",
    "remove_grammar_extension", "create_external_resource", "register_external_resource",
    "register_external_resource_type", "deregister_external_resource", "destroy_external_resource",
    "pandas_scan", "python_map_function", "seq_scan", "summary", "st_read", "st_read_meta", "st_drivers",
    "excel", "json_serialize_plan", "write_log", "copy_database", "import_database",
})
_DENIED_PREFIXES = ("read_", "parquet_", "iceberg_", "delta_", "duckdb_", "pragma_", "sqlite_", "postgres_",
                    "mysql_", "odbc_", "http_", "arrow_", "python_", "pandas_", "ducklake_", "azure_", "s3_",
                    "gcs_", "st_read", "enable_", "disable_")
_DENIED_SUFFIXES = ("_scan", "_attach", "_query", "_execute")
#: the only functions a query may read rows from: generators over their arguments
_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest", "json_each", "json_tree"})

#: built-in views over refused functions (``pg_catalog.pg_settings`` is ``duckdb_settings()``)
_DENIED_TABLES = frozenset({"pg_settings", "duckdb_logs", "duckdb_settings", "duckdb_secrets"})
#: characters that make a table name a path, a glob or a URL
_PATH_LIKE = re.compile(r"[/\\:~*?\[\]{}]|\.")
_FILE_EXTENSIONS = frozenset({
    "csv", "tsv", "txt", "tbl", "dat", "parquet", "json", "jsonl", "ndjson", "gz", "gzip", "zst", "zstd",
    "bz2", "xz", "lz4", "snappy", "zip", "xlsx", "xls", "arrow", "ipc", "feather", "avro", "orc", "db",
    "duckdb", "ddb", "sqlite", "sqlite3",
})
_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: .*?>")
_EXPLAIN_PREFIX = re.compile(r"EXPLAIN\s+(?:ANALYZE\s+)?", re.IGNORECASE)


@dataclass(frozen=True)
class QueryResult:
    """What a read-only query answered: column names and DuckDB type names, at most ``max_rows`` rows."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    elapsed_ms: float


def _refuse(message: str) -> InputError:
    return InputError(message, field="sql")


def _not_allowed(name: str, reason: str | None = None) -> InputError:
    why = reason or "the warehouse is read-only"
    return _refuse(f"{name} is not allowed: {why}; only {_ALLOWED} queries are accepted")


def _function_refused(name: str) -> bool:
    low = name.lower()
    return low in _DENIED_FUNCTIONS or low.startswith(_DENIED_PREFIXES) or low.endswith(_DENIED_SUFFIXES)


def _table_name_problem(parts: Sequence[str]) -> str | None:
    """Why a (catalog, schema, table) name must not be used as a table, or None when it is a plain name."""
    shown = ".".join(parts)
    if parts and parts[-1].lower() in _DENIED_TABLES:
        return f"the system view {shown!r} is not allowed: it shows DuckDB's settings or logs"
    for index, part in enumerate(parts):
        if _PATH_LIKE.search(part):
            return f"the table name {shown!r} looks like a file path or URL (DuckDB would read the file)"
        if index > 0 and part.lower() in _FILE_EXTENSIONS:
            return f"the table name {shown!r} looks like a file name (DuckDB would read the file)"
    return None


# -- layer 1: sqlglot ----------------------------------------------------------------------------------------


def _tokens(sql: str) -> list[Token]:
    try:
        return Dialect.get_or_raise(_DIALECT).tokenize(sql)
    except SqlglotError as exc:
        raise _refuse(f"cannot read the SQL: {_first_line(exc)[:200]}") from None
    except Exception as exc:  # a tokenizer bug must refuse, not escape as a traceback
        raise _refuse(f"cannot read the SQL ({type(exc).__name__} in the SQL reader)") from None


def _statements(tokens: Sequence[Token]) -> list[list[Token]]:
    out: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            out.append([])
        else:
            out[-1].append(token)
    return [group for group in out if group]


def _token_text(match: re.Match[str]) -> str:
    return "the end of the SQL" if match.group(1) == "SENTINEL" else repr(match.group(2))


def _parse(text: str) -> exp.Expr:
    try:
        trees = [tree for tree in sqlglot.parse(text, dialect=_DIALECT) if tree is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" (line {first.get('line')}, col {first.get('col')})" if first.get("line") else ""
        what = _TOKEN_REPR.sub(_token_text, str(first.get("description") or _first_line(exc)))
        raise _refuse(f"cannot parse the SQL: {what}{where}") from None
    except SqlglotError as exc:
        raise _refuse(f"cannot parse the SQL: {_first_line(exc)[:200]}") from None
    except Exception as exc:  # a parser bug (sqlglot raises IndexError on `SHOW ALL`) refuses
        raise _refuse(f"cannot parse the SQL ({type(exc).__name__} in the SQL parser)") from None
    if len(trees) != 1:
        raise _refuse(f"only one statement is allowed, found {len(trees)}")
    return trees[0]


def _function_names(node: exp.Func) -> set[str]:
    """Every name a function call goes by: the one typed (for unknown functions) and sqlglot's names for it."""
    names = {name.lower() for name in type(node).sql_names()}
    if isinstance(node, exp.Anonymous):
        names = {node.name.lower()}
    return names


def _generated_name(node: exp.Func) -> str:
    """The name DuckDB would see for the call, from sqlglot's DuckDB rendering of it."""
    match = re.match(r'\s*"?([A-Za-z_][A-Za-z0-9_]*)"?\s*\(', node.sql(dialect=_DIALECT, comments=False))
    return match.group(1).lower() if match else ""


def _check_table_function(node: exp.Func) -> None:
    names = _function_names(node) | {_generated_name(node)}
    if not names & _TABLE_FUNCTIONS or any(_function_refused(name) for name in names):
        shown = _generated_name(node) or sorted(names)[0]
        raise _refuse(f"the table function {shown}() is not allowed: a query may read only the warehouse's "
                      f"tables and views (and {', '.join(sorted(_TABLE_FUNCTIONS))})")


def _quoted_table(name: str) -> str:
    return (f"a quoted string is used as a table ('{name}'): DuckDB would read it as a file; name a table or "
            f"view of the warehouse")


def _check_table(table: exp.Table, text: str) -> None:
    target = table.this
    if isinstance(target, exp.Func):
        _check_table_function(target)
        return
    parts = [table.args.get("catalog"), table.args.get("db"), target]
    idents = [part for part in parts if part is not None]
    if not all(isinstance(part, exp.Identifier) for part in idents):
        raise _refuse(f"unsupported table reference: {table.sql(dialect=_DIALECT, comments=False)}")
    names = [part.name for part in idents]
    for part in idents:
        start = part.meta.get("start")
        if isinstance(start, int) and 0 <= start < len(text) and text[start] == "'":
            raise _refuse(_quoted_table(".".join(names)))
    problem = _table_name_problem(names)
    if problem:
        raise _refuse(problem)


def _check_tree(tree: exp.Expr, text: str, *, queries_only: bool) -> None:
    if not isinstance(tree, _QUERY_ROOTS if queries_only else _ROOTS):
        name = str(tree.this).upper() if isinstance(tree, exp.Command) else _STATEMENT_NAMES.get(type(tree))
        if name:
            raise _not_allowed(name)
        if queries_only:
            raise _refuse(f"EXPLAIN can explain only a query (SELECT, WITH … SELECT, VALUES), not "
                          f"{type(tree).__name__.upper()}")
        raise _not_allowed(f"this statement ({type(tree).__name__})")
    if isinstance(tree, exp.Describe | exp.Summarize) and not isinstance(tree.this, (exp.Table, *_QUERY_ROOTS)):
        if isinstance(tree.this, exp.Literal) and tree.this.is_string:
            raise _refuse(_quoted_table(tree.this.name))
        raise _refuse(f"{type(tree).__name__.upper()} takes a table, a view or a query")
    if isinstance(tree, exp.Show) and tree.name.upper() not in _SHOW_KINDS:
        raise _not_allowed(f"SHOW {tree.name}")
    for node in tree.walk():
        statement = _STATEMENT_NAMES.get(type(node))
        if statement or isinstance(node, exp.Command):
            raise _not_allowed(statement or str(node.this).upper())
        if isinstance(node, _PARAMETER_NODES):
            raise _refuse(f"query parameters are not supported ({node.sql(dialect=_DIALECT)}): write the value")
        if not isinstance(node, _ALLOWED_NODES):
            raise _refuse(f"the SQL construct {type(node).__name__} is not allowed in a read-only query")
        if isinstance(node, exp.Pivot) and node.arg_key != "pivots":
            raise _not_allowed("the PIVOT / UNPIVOT statement", _REFUSAL_REASON["PIVOT"])
        if isinstance(node, exp.Table):
            _check_table(node, text)
        elif isinstance(node, exp.Func):
            if node.arg_key == "this" and isinstance(node.parent, exp.From | exp.Join | exp.Lateral):
                _check_table_function(node)
            for name in sorted(_function_names(node)):
                if _function_refused(name):
                    raise _refuse(f"the function {name}() is not allowed: it reads files, runs SQL or reveals "
                                  f"the environment")


def _check_statement(sql: str, tokens: Sequence[Token], *, queries_only: bool) -> str:
    """Check one statement (its tokens, positions into ``sql``) and return its text."""
    first = tokens[0].text.upper()
    second = tokens[1].text.upper() if len(tokens) > 1 else ""
    text = sql[tokens[0].start : tokens[-1].end + 1]
    if first in _REFUSED_KEYWORDS:
        name = f"{first} {second}" if second in _NAME_SECOND_WORD.get(first, ()) else first
        raise _not_allowed(name, _REFUSAL_REASON.get(first))
    if first == "EXPLAIN":
        if queries_only:
            raise _refuse("EXPLAIN can explain only a query, not another EXPLAIN")
        return _check_explain(sql[tokens[0].end + 1 : tokens[-1].end + 1])
    if first == "SHOW" and not queries_only and second not in {"TABLES", "ALL"}:
        if second == "DATABASES" and len(tokens) == 2:
            return "SHOW DATABASES"
        if len(tokens) < 2:
            raise _refuse("SHOW needs TABLES, ALL TABLES, DATABASES or a table name")
        # SHOW <name> shows a setting when <name> is one (SHOW home_directory): run it as DESCRIBE <table>
        described = "DESCRIBE " + sql[tokens[1].start : tokens[-1].end + 1]
        tree = _parse(described)
        if not isinstance(tree, exp.Describe) or not isinstance(tree.this, exp.Table):
            raise _refuse("SHOW takes TABLES, ALL TABLES, DATABASES or the name of a table or view")
        _check_tree(tree, described, queries_only=False)
        return described
    tree = _parse(text)
    _check_tree(tree, text, queries_only=queries_only)
    return text


def _check_explain(rest: str) -> str:
    """Check what follows EXPLAIN: an optional ANALYZE, then one query (sqlglot reads it all as one string)."""
    tokens = _tokens(rest)
    analyze = bool(tokens) and tokens[0].text.upper() == "ANALYZE"
    if analyze:
        rest = rest[tokens[0].end + 1 :]
        tokens = _tokens(rest)
    if tokens and tokens[0].token_type == TokenType.L_PAREN and len(tokens) > 1 \
            and tokens[1].text.upper() in {"FORMAT", "ANALYZE"}:
        raise _refuse("EXPLAIN options are not supported: write EXPLAIN or EXPLAIN ANALYZE and the query")
    query = _check_text(rest, queries_only=True, empty="EXPLAIN needs the query to explain")
    return f"EXPLAIN {'ANALYZE ' if analyze else ''}{query}"


def _check_text(sql: str, *, queries_only: bool, empty: str) -> str:
    statements = _statements(_tokens(sql))
    if not statements:
        raise _refuse(empty)
    if len(statements) > 1:
        raise _refuse(f"only one statement is allowed, found {len(statements)}: run them one at a time")
    return _check_statement(sql, statements[0], queries_only=queries_only)


def check_readonly(sql: str) -> str:
    """Return the one statement of ``sql`` when it is a read-only query over the warehouse, or refuse it.

    Allowed: SELECT (with UNION, INTERSECT, EXCEPT), WITH … SELECT, VALUES, DESCRIBE, SHOW, SUMMARIZE, and
    EXPLAIN [ANALYZE] of a query. Refused (``InputError`` on field ``sql``, naming what was refused): empty input,
    several statements, every other statement kind (ATTACH, COPY, INSTALL, LOAD, PRAGMA, SET, CREATE, INSERT, …),
    file-reading and escape functions anywhere in the tree (``read_csv``, ``glob``, ``query``, ``getenv``, …), a
    table function other than a generator, a string, path, URL or file name used as a table, query parameters, and
    SQL that sqlglot cannot parse. The statement is returned as typed, without its trailing semicolon (and, for
    EXPLAIN, without comments between EXPLAIN, ANALYZE and the query); ``SHOW <table>`` comes back as
    ``DESCRIBE <table>``, which it means, because DuckDB's ``SHOW <name>`` shows a setting of that name.
    """
    return _check_text(sql, queries_only=False, empty=f"the SQL is empty: write one {_ALLOWED} query")


# -- layer 2: DuckDB's own parser ----------------------------------------------------------------------------


def _json_nodes(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _json_nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from _json_nodes(child)


def _show_allowed(node: dict[str, Any]) -> bool:
    """DuckDB's SHOW forms that list tables or describe one; SHOW <setting> (a plain SHOW) is not among them."""
    show_type = node.get("show_type")
    if show_type in ("DESCRIBE", "SUMMARY", "SHOW_FROM"):
        return True
    name = str(node.get("table_name") or "").strip('"').lower()
    return show_type == "SHOW_SPECIAL" and name in ("tables", "__show_tables_expanded", "databases", "schemas")


def _check_with_duckdb(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Apply the statement, function and table rules to DuckDB's own parse of ``sql``."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise _refuse(_first_line(exc)) from None
    if len(statements) != 1:
        raise _refuse(f"only one statement is allowed, DuckDB reads {len(statements)}")
    kind = statements[0].type
    if kind == duckdb.StatementType.EXPLAIN:
        prefix = _EXPLAIN_PREFIX.match(sql)
        if prefix is None:
            raise _refuse("EXPLAIN must be followed by the query to explain")
        query = sql[prefix.end() :]
    elif kind == duckdb.StatementType.SELECT:
        query = sql
    else:
        raise _not_allowed(f"a {kind.name} statement")
    try:
        row = con.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
    except duckdb.Error as exc:
        raise _refuse(f"cannot check the SQL with DuckDB's parser: {_first_line(exc)}") from None
    tree: dict[str, Any] = json.loads(row[0]) if row and isinstance(row[0], str) else {"error": True}
    if tree.get("error"):
        raise _refuse(f"DuckDB cannot read this as one query: {tree.get('error_message', 'unknown error')}")
    if len(tree.get("statements", [])) != 1:
        raise _refuse("only one statement is allowed")
    for node in _json_nodes(tree):
        kind_name = node.get("type")
        if kind_name == "TABLE_FUNCTION":
            function = node.get("function")
            name = function.get("function_name", "") if isinstance(function, dict) else ""
            if not isinstance(name, str) or name.lower() not in _TABLE_FUNCTIONS or _function_refused(name):
                raise _refuse(f"the table function {name}() is not allowed: a query may read only the "
                              f"warehouse's tables and views")
        elif kind_name == "SHOW_REF" and not _show_allowed(node):
            raise _refuse(f"SHOW {str(node.get('table_name') or '').strip(chr(34))} is not allowed: only SHOW "
                          f"TABLES, SHOW ALL TABLES, SHOW DATABASES, SHOW SCHEMAS and DESCRIBE of a table, view "
                          f"or query")
        if kind_name in ("BASE_TABLE", "SHOW_REF"):
            parts = [str(node.get(key) or "") for key in ("catalog_name", "schema_name", "table_name")]
            problem = _table_name_problem([part.strip('"') for part in parts if part])
            if problem:
                raise _refuse(problem)
        name = node.get("function_name")
        if isinstance(name, str) and _function_refused(name):
            raise _refuse(f"the function {name}() is not allowed: it reads files, runs SQL or reveals the "
                          f"environment")


# -- layer 3: the connection, and running ----------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only with external access, extension loading, Python replacement scans and
    configuration changes all disabled. Never creates the file."""
    if not path.exists():
        raise InputError(f"the warehouse {path} does not exist: run `revloops warehouse refresh` first",
                         field="warehouse")
    if not path.is_file():
        raise InputError(f"the warehouse {path} is not a file", field="warehouse")
    try:
        return duckdb.connect(str(path), read_only=True, config=dict(_CONNECT_CONFIG))
    except duckdb.Error as exc:
        raise InputError(f"cannot open the warehouse {path}: {_first_line(exc)}", field="warehouse") from None


def _check_limits(max_rows: int, timeout_s: float) -> None:
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or not 1 <= max_rows <= MAX_ROWS_LIMIT:
        raise InputError(f"max_rows must be a whole number from 1 to {MAX_ROWS_LIMIT}, not {max_rows!r}",
                         field="max_rows")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or not math.isfinite(timeout_s) \
            or timeout_s <= 0:
        raise InputError(f"timeout_s must be a number of seconds above 0, not {timeout_s!r}", field="timeout_s")


def run_readonly(path: Path, sql: str, *, max_rows: int = 1000, timeout_s: float = 10.0) -> QueryResult:
    """Run one read-only query against the warehouse file at ``path`` and return at most ``max_rows`` rows.

    The SQL passes ``check_readonly``, then DuckDB's own parser under the same rules, then runs on a read-only,
    locked-down connection. A query running longer than ``timeout_s`` is interrupted; it, a refused query and a
    DuckDB error (unknown table, type error) are all ``InputError`` on field ``sql``. A missing warehouse file is
    an ``InputError`` on field ``warehouse``. ``truncated`` says more rows existed than ``max_rows``.
    """
    _check_limits(max_rows, timeout_s)
    statement = check_readonly(sql)
    con = _connect(path)
    try:
        finished, fired = threading.Event(), threading.Event()

        def interrupt() -> None:
            fired.set()
            while not finished.is_set():  # again and again: an interrupt before the query starts is lost
                con.interrupt()
                finished.wait(0.05)

        timer = threading.Timer(timeout_s, interrupt)
        timer.daemon = True
        started = time.perf_counter()
        timer.start()
        try:
            _check_with_duckdb(con, statement)
            cursor = con.execute(statement)
            description = cursor.description or []
            fetched = cursor.fetchmany(max_rows + 1)
        except duckdb.Error as exc:
            if fired.is_set():
                raise _refuse(f"the query was interrupted after {timeout_s:g} s, the time limit: narrow it "
                              f"(a WHERE, a LIMIT, fewer joins) or allow more time") from None
            raise _refuse(_first_line(exc)) from None
        except (ValueError, OverflowError) as exc:  # a value DuckDB cannot hand to Python
            raise _refuse(f"cannot return the result: {_first_line(exc)}") from None
        finally:
            finished.set()
            timer.cancel()
            timer.join()
        elapsed_ms = (time.perf_counter() - started) * 1000.0
    finally:
        con.close()
    rows = [tuple(row) for row in fetched]
    return QueryResult(columns=[str(column[0]) for column in description],
                       types=[str(column[1]) for column in description],
                       rows=rows[:max_rows], truncated=len(rows) > max_rows, elapsed_ms=elapsed_ms)
