"""The catalog queries PostgreSQL clients send (psql's ``\\dt``, ``\\d``, ``\\l``, drivers and BI
tools on connect and while browsing), answered by DuckDB.

DuckDB has ``pg_catalog`` views and many ``pg_*`` functions of its own; this module fills the
gaps rather than emulating PostgreSQL's catalog:

* :func:`install` attaches one small in-memory database, ``clicksend_pg``, once per server. It
  holds what DuckDB lacks (``pg_roles``, ``pg_get_userbyid()``, the empty tables psql's ``\\d``
  joins, ...) and narrower versions of what DuckDB has: ``pg_namespace``, ``pg_class`` and
  ``information_schema`` show the session's own database and the ClickSend tables (schema
  ``clicksend`` of database ``clicksend_sql``), not DuckDB's internals or this database.
* :func:`rewrite` turns a statement that mentions the catalog from PostgreSQL's dialect into
  DuckDB's with sqlglot, pointing it at those relations and functions and rewriting what DuckDB
  cannot parse (``OPERATOR(pg_catalog.~)``, ``::regclass``, ``COLLATE pg_catalog.default``).
  Name patterns match case-insensitively, as DuckDB resolves names: psql's ``\\d Contacts``
  asks for ``^(contacts)$``.
"""

from __future__ import annotations

import re

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..system_tables import DATABASE_NAME, SCHEMA_NAME

COMPAT = "clicksend_pg"
ROLE = "clicksend"  # the one role the catalog shows: whoever logged in with the server's password
_INFORMATION = "information"  # the schema of the information_schema stand-ins (DuckDB reserves the real name)
_MENTIONS = re.compile(r"\b(pg_\w+|information_schema|reg(class|type|namespace|proc)|version)\b|\bOPERATOR\s*\(",
                       re.IGNORECASE)

_RELATIONS = {
    "pg_namespace": """SELECT oid, schema_name AS nspname, 10 AS nspowner, NULL::VARCHAR AS nspacl
        FROM duckdb_schemas()
        WHERE {compat}.main.visible_schema(database_name, schema_name)
           OR (database_name = 'system' AND schema_name IN ('pg_catalog', 'information_schema'))""",
    # ClickSend tables are declared as views that refuse to be read directly; to clients they are tables
    "pg_class": """SELECT c.* REPLACE (CASE WHEN c.relnamespace = {compat}.main.clicksend_namespace() THEN 'r'
            ELSE c.relkind END AS relkind), false AS relforcerowsecurity FROM system.pg_catalog.pg_class c
        WHERE c.relnamespace IN (SELECT oid FROM {compat}.main.pg_namespace)""",
    "pg_database": """SELECT database_oid AS oid, database_name AS datname, 10 AS datdba, 6 AS encoding,
            'c' AS datlocprovider, false AS datistemplate, true AS datallowconn, -1 AS datconnlimit,
            'C' AS datcollate, 'C' AS datctype, NULL::VARCHAR AS daticulocale, NULL::VARCHAR AS daticurules,
            NULL::VARCHAR[] AS datacl, 0 AS dattablespace
        FROM duckdb_databases() WHERE database_name = current_database()""",
    "pg_roles": f"""SELECT 10 AS oid, '{ROLE}' AS rolname, true AS rolsuper, true AS rolinherit,
            true AS rolcreaterole, true AS rolcreatedb, true AS rolcanlogin, false AS rolreplication,
            -1 AS rolconnlimit, NULL::TIMESTAMPTZ AS rolvaliduntil, false AS rolbypassrls, NULL::VARCHAR[] AS rolconfig""",
    "pg_user": f"""SELECT '{ROLE}' AS usename, 10 AS usesysid, true AS usecreatedb, true AS usesuper,
            false AS userepl, false AS usebypassrls, NULL::TIMESTAMPTZ AS valuntil, NULL::VARCHAR[] AS useconfig""",
    "pg_collation": """SELECT c.*, n.oid AS collnamespace, 10 AS collowner, 'c' AS collprovider, true AS collisdeterministic,
            6 AS collencoding, NULL::VARCHAR AS collcollate, NULL::VARCHAR AS collctype
        FROM system.pg_catalog.pg_collation c, (SELECT oid FROM duckdb_schemas()
            WHERE database_name = 'system' AND schema_name = 'pg_catalog') n""",
    # Empty: what psql's \\d joins for policies, statistics, publications and inheritance.
    "pg_policy": """SELECT NULL::VARCHAR AS polname, 0 AS polrelid, NULL::VARCHAR AS polcmd, true AS polpermissive,
            []::BIGINT[] AS polroles, NULL::VARCHAR AS polqual, NULL::VARCHAR AS polwithcheck WHERE false""",
    "pg_statistic_ext": """SELECT 0 AS oid, 0 AS stxrelid, NULL::VARCHAR AS stxname, 0 AS stxnamespace,
            0 AS stxowner, -1 AS stxstattarget, []::SMALLINT[] AS stxkeys, []::VARCHAR[] AS stxkind WHERE false""",
    "pg_publication": """SELECT 0 AS oid, NULL::VARCHAR AS pubname, false AS puballtables, false AS pubinsert,
            false AS pubupdate, false AS pubdelete, false AS pubtruncate, false AS pubviaroot WHERE false""",
    "pg_publication_namespace": "SELECT 0 AS oid, 0 AS pnpubid, 0 AS pnnspid WHERE false",
    "pg_publication_rel": """SELECT 0 AS oid, 0 AS prpubid, 0 AS prrelid, NULL::VARCHAR AS prqual,
            NULL::SMALLINT[] AS prattrs WHERE false""",
    "pg_inherits": "SELECT 0 AS inhrelid, 0 AS inhparent, 0 AS inhseqno, false AS inhdetachpending WHERE false",
    "pg_trigger": """SELECT 0 AS oid, 0 AS tgrelid, NULL::VARCHAR AS tgname, false AS tgisinternal,
            'O' AS tgenabled, 0 AS tgparentid WHERE false""",
    "pg_extension": """SELECT 0 AS oid, NULL::VARCHAR AS extname, 10 AS extowner, 0 AS extnamespace,
            NULL::VARCHAR AS extversion WHERE false""",
}
_INFORMATION_RELATIONS = {  # information_schema's views, narrowed to the visible schemas
    name: f"SELECT {columns} FROM system.information_schema.{name} WHERE {{compat}}.main.visible_schema({catalog}, {schema})"
    for name, columns, catalog, schema in (
        ("tables", f"* REPLACE (CASE WHEN table_catalog = '{DATABASE_NAME}' THEN 'BASE TABLE' ELSE table_type END "
                   "AS table_type)", "table_catalog", "table_schema"),  # ClickSend's declarations are tables to clients
        ("columns", "*", "table_catalog", "table_schema"),
        ("views", "*", "table_catalog", "table_schema"),
        ("schemata", "*", "catalog_name", "schema_name"),
    )
}
_MACROS = {
    # the schemas a session's catalog shows: its own database's, and the ClickSend tables'
    "visible_schema": f"""(database_name, schema_name) AS database_name = current_database()
        OR (database_name = '{DATABASE_NAME}' AND schema_name = '{SCHEMA_NAME}')""",
    "pg_get_userbyid": f"(role) AS '{ROLE}'",
    "clicksend_namespace": f"""() AS (SELECT oid FROM duckdb_schemas()
        WHERE database_name = '{DATABASE_NAME}' AND schema_name = '{SCHEMA_NAME}')""",
    # PostgreSQL's names (SQLAlchemy reflects types by them; DuckDB's own format_type says int8, varchar)
    "format_type": """(type_oid, typemod) AS CASE type_oid
        WHEN 16 THEN 'boolean' WHEN 17 THEN 'bytea' WHEN 20 THEN 'bigint' WHEN 21 THEN 'smallint'
        WHEN 23 THEN 'integer' WHEN 25 THEN 'text' WHEN 114 THEN 'json' WHEN 700 THEN 'real'
        WHEN 701 THEN 'double precision' WHEN 1043 THEN 'character varying' WHEN 1082 THEN 'date'
        WHEN 1083 THEN 'time without time zone' WHEN 1114 THEN 'timestamp without time zone'
        WHEN 1184 THEN 'timestamp with time zone' WHEN 1186 THEN 'interval' WHEN 2950 THEN 'uuid'
        ELSE pg_catalog.format_type(type_oid, typemod) END""",
    "pg_encoding_to_char": "(encoding) AS 'UTF8'",
    "pg_get_expr": "(expression, relation) AS expression::VARCHAR, (expression, relation, pretty) AS expression::VARCHAR",
    "pg_get_statisticsobjdef_columns": "(oid) AS NULL::VARCHAR",
    "pg_relation_is_publishable": "(relation) AS false",
    "pg_get_function_result": "(oid) AS NULL::VARCHAR",
    "pg_get_function_arguments": "(oid) AS NULL::VARCHAR",
    "pg_get_serial_sequence": "(relation, column_name) AS NULL::VARCHAR",
    "array_upper": "(array_value, dimension) AS len(array_value)",
    "obj_description": """(object_oid) AS (SELECT comment FROM duckdb_tables() WHERE table_oid = object_oid
            UNION ALL SELECT comment FROM duckdb_views() WHERE view_oid = object_oid LIMIT 1),
        (object_oid, catalog_name) AS (SELECT comment FROM duckdb_tables() WHERE table_oid = object_oid
            UNION ALL SELECT comment FROM duckdb_views() WHERE view_oid = object_oid LIMIT 1)""",
    "col_description": """(relation, column_number) AS (SELECT comment FROM duckdb_columns()
        WHERE table_oid = relation AND column_index = column_number)""",
    "shobj_description": "(object_oid, catalog_name) AS NULL::VARCHAR",
}
_LOOKUPS = {  # what ``::regclass`` and ``::regnamespace`` become: macros over the stand-ins, made after them
    # ``'name'::regclass``: a relation's oid by name (any schema; quotes and case ignored), or the number itself
    "regclass_oid": """(name) AS coalesce(TRY_CAST(name AS BIGINT),
        (SELECT min(oid) FROM {compat}.main.pg_class
         WHERE lower(relname) = lower(replace(string_split(name, '.')[-1], '"', ''))))""",
    "regclass_name": "(relation) AS (SELECT relname FROM {compat}.main.pg_class WHERE oid = relation)",
    "regnamespace_name": "(namespace) AS (SELECT nspname FROM {compat}.main.pg_namespace WHERE oid = namespace)",
}
_TEXT_TYPES = frozenset({"text", "varchar", "name", "char", "bpchar"})
_CASTS_TO_TEXT = frozenset({"regproc", "regprocedure", "regoper", "regoperator", "regrole", "regconfig", *_TEXT_TYPES})
_REGEX_OPERATORS = {"~": False, "~*": False, "!~": True, "!~*": True}  # operator -> negated


def install(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """Attach ``clicksend_pg`` with the catalog's stand-ins, once per DuckDB database; every
    cursor of it then sees them. ``version`` is what ``version()`` answers."""
    attached = con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = $name",
                           {"name": COMPAT}).fetchall()[0][0]
    if attached:
        return
    statements = [f"ATTACH ':memory:' AS {COMPAT}", f"CREATE SCHEMA {COMPAT}.{_INFORMATION}"]
    statements += [f"CREATE MACRO {COMPAT}.main.{name}{body}" for name, body in _MACROS.items()]
    statements.append(f"CREATE MACRO {COMPAT}.main.version() AS {_quote(version)}")
    statements += [f"CREATE VIEW {COMPAT}.main.{name} AS {body.format(compat=COMPAT)}" for name, body in _RELATIONS.items()]
    statements += [f"CREATE VIEW {COMPAT}.{_INFORMATION}.{name} AS {body.format(compat=COMPAT)}"
                   for name, body in _INFORMATION_RELATIONS.items()]
    statements += [f"CREATE MACRO {COMPAT}.main.{name}{body.format(compat=COMPAT)}" for name, body in _LOOKUPS.items()]
    for statement in statements:
        con.execute(statement)


def rewrite(text: str) -> str:
    """One statement in DuckDB's SQL when it reads the catalog, else ``text`` unchanged.

    >>> rewrite("SELECT 1")
    'SELECT 1'
    >>> print(rewrite("SELECT c.oid::pg_catalog.regclass FROM pg_catalog.pg_class c "
    ...               "WHERE c.relname OPERATOR(pg_catalog.~) '^(contacts)$' COLLATE pg_catalog.default"))
    SELECT clicksend_pg.main.regclass_name(c.oid) FROM clicksend_pg.main.pg_class AS c WHERE REGEXP_MATCHES(c.relname, '^(contacts)$', 'i')
    >>> rewrite("SELECT pg_catalog.pg_get_userbyid(10) AS owner, 'Contacts'::regclass, version()")
    "SELECT clicksend_pg.main.pg_get_userbyid(10) AS owner, clicksend_pg.main.regclass_oid('Contacts'), clicksend_pg.main.version() AS version"
    """
    if not _MENTIONS.search(text):
        return text
    try:
        statements = sqlglot.parse(text, read="postgres")
    except SqlglotError:
        return text  # DuckDB's own parser says what is wrong with it
    if len(statements) != 1 or statements[0] is None:
        return text
    tree = statements[0]
    for node in reversed(list(tree.dfs())):  # children before parents: a new node is built of rewritten parts
        new = _compat(node)
        if new is not node:
            tree = new if node is tree else tree
            node.replace(new)
    for projection in tree.expressions if isinstance(tree, exp.Select) else []:
        if _is_compat_call(projection) and projection.expression.name not in _LOOKUPS:  # named as PostgreSQL does
            projection.replace(exp.alias_(projection.copy(), projection.expression.name))
    return tree.sql("duckdb")


def _compat(node: exp.Expr) -> exp.Expr:
    """One node of a catalog query in DuckDB's terms."""
    if isinstance(node, exp.Table):
        return _table(node)
    if isinstance(node, exp.Column) and node.db.lower() in ("pg_catalog", "information_schema"):
        return exp.column(node.this, table=node.args.get("table"))  # pg_catalog.pg_class.relname: pg_class.relname
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Anonymous) and node.this.name.lower() == "pg_catalog":
        return _function(node.expression)
    if isinstance(node, exp.Anonymous) and not isinstance(node.parent, exp.Dot):
        return _function(node)
    if isinstance(node, exp.CurrentVersion):
        return _compat_call("version")
    if isinstance(node, exp.Operator):
        return _operator(node)
    if isinstance(node, exp.RegexpLike):
        return _regex(node.this, node.expression)
    if isinstance(node, exp.Collate):
        return node.this
    if isinstance(node, exp.Cast):
        return _cast(node)
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.USERDEFINED and not isinstance(node.parent, exp.Cast):
        return exp.DataType.build(_type_name(node), dialect="postgres")  # pg_catalog.int2[]: SMALLINT[]
    return node


def _table(table: exp.Table) -> exp.Table:
    name, schema = table.name.lower(), table.db.lower()
    if isinstance(table.this, exp.Func) and schema == "pg_catalog":  # pg_catalog.generate_series(...)
        return exp.Table(this=table.this, alias=table.args.get("alias"))
    if table.catalog:
        return table
    if name in _RELATIONS and schema in ("", "pg_catalog"):
        return exp.table_(name, db="main", catalog=COMPAT, alias=table.alias or name)
    if name in _INFORMATION_RELATIONS and schema == "information_schema":
        return exp.table_(name, db=_INFORMATION, catalog=COMPAT, alias=table.alias or name)
    return table


def _function(call: exp.Anonymous) -> exp.Expr:
    """A call of ``f(...)`` or ``pg_catalog.f(...)``: ours where DuckDB has no ``f`` (or a narrower
    one), else DuckDB's, unqualified."""
    name = call.name.lower()
    if name in _MACROS or name == "version":
        return _compat_call(name, *call.expressions)
    if name == "json_build_object":
        return exp.Anonymous(this="json_object", expressions=call.expressions)
    return call if not isinstance(call.parent, exp.Dot) else exp.Anonymous(this=call.name, expressions=call.expressions)


def _compat_call(name: str, *arguments: exp.Expr) -> exp.Expr:
    call = exp.Anonymous(this=name, expressions=list(arguments))
    return exp.Dot.build([exp.to_identifier(COMPAT), exp.to_identifier("main"), call])


def _is_compat_call(node: exp.Expr) -> bool:
    return (isinstance(node, exp.Dot) and isinstance(node.expression, exp.Anonymous) and isinstance(node.this, exp.Dot)
            and node.this.this.name == COMPAT)


def _operator(node: exp.Operator) -> exp.Expr:
    """``a OPERATOR(pg_catalog.~) b`` as DuckDB writes it."""
    operator = str(node.args.get("operator", "")).split(".")[-1]
    if operator in _REGEX_OPERATORS:
        matches = _regex(node.this, node.expression)
        return exp.Not(this=matches) if _REGEX_OPERATORS[operator] else matches
    if operator == "=":
        return exp.EQ(this=node.this, expression=node.expression)
    return node


def _regex(value: exp.Expr, pattern: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this="regexp_matches", expressions=[value, pattern, exp.Literal.string("i")])


def _cast(cast: exp.Cast) -> exp.Expr:
    """Casts to PostgreSQL's object-identifier types, which DuckDB does not have."""
    target = _type_name(cast.to)
    operand = cast.this
    if target == "regclass":
        texty = (isinstance(operand, exp.Literal) and operand.is_string) or isinstance(operand, exp.Anonymous) or (
            isinstance(operand, exp.Cast) and _type_name(operand.to) in _TEXT_TYPES)
        return _compat_call("regclass_oid" if texty else "regclass_name", operand)
    if target == "regnamespace":
        return _compat_call("regnamespace_name", operand)
    if target == "regtype":
        return exp.Anonymous(this="format_type", expressions=[operand, exp.null()])
    if target == "oid":
        return exp.cast(operand, "BIGINT")
    if target in _CASTS_TO_TEXT:
        return exp.cast(operand, "VARCHAR")
    if isinstance(cast.to, exp.DataType) and cast.to.this == exp.DataType.Type.USERDEFINED:
        return exp.cast(operand, exp.DataType.build(target, dialect="postgres"))
    return cast


def _type_name(to: exp.Expr) -> str:
    """The bare, lower-case name of a cast's target type (``pg_catalog.regclass``: ``regclass``)."""
    if isinstance(to, exp.DataType) and to.this == exp.DataType.Type.USERDEFINED:
        kind = to.args.get("kind")
        return (kind.name if kind is not None else to.name).lower()
    if isinstance(to, exp.DataType):
        return str(to.this.value if isinstance(to.this, exp.DataType.Type) else to.this).lower()
    return to.name.lower()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
