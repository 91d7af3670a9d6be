"""The table catalog: ``schema/*.yaml`` loaded into typed declarations.

The catalog is data. Each ClickSend object is one YAML file that says where its rows live
(endpoints and response shape), what its columns are (API field, SQL type), which WHERE
predicates the API can evaluate (filters) and which DML it supports. Adding a table means adding
a file; nothing here knows any table by name.

A file looks like this (``schema/Contacts.yaml``)::

    name: Contacts
    description: Contacts stored in contact lists.
    endpoints:
      list: {path: /lists/{list_id}/contacts, shape: paginator}
      get: /lists/{list_id}/contacts/{contact_id}
      insert: /lists/{list_id}/contacts
      update: /lists/{list_id}/contacts/{contact_id}
      delete: /lists/{list_id}/contacts/{contact_id}
    primary_key: [ContactId]
    parent: {table: ContactLists, column: ListId, parent_column: ListId, count_column: ContactsCount}
    dml: [INSERT, UPDATE, DELETE]
    incremental: [UpdatedDate, CreatedDate]   # the first is replication's cursor
    columns:
      - {field: contact_id, type: BIGINT, path_param: contact_id, read_only: true}
      - {field: list_id, type: BIGINT, path_param: list_id, required_for_insert: true}
      - {field: date_added, type: TIMESTAMPTZ, read_only: true}     # -> CreatedDate
    filters:
      - {column: UpdatedDate, ops: [">", ">="], param: updated_after}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import orjson

from .cache import cached_entry, file_stamps, fingerprint
from .errors import CatalogError, UnknownTableError, did_you_mean

Shape = Literal["paginator", "cursor", "cursor_no_envelope", "array", "object", "object_no_envelope"]
FilterVia = Literal["path", "query", "q"]

_SPECIAL_NAMES = {"date_added": "CreatedDate", "date_updated": "UpdatedDate"}


def column_name(api_field: str) -> str:
    """The SQL column name for an API field: PascalCase, with the two names Skyvia renames.

    >>> column_name("contact_id"), column_name("_contacts_count"), column_name("custom_1")
    ('ContactId', 'ContactsCount', 'Custom1')
    >>> column_name("date_added"), column_name("date_updated")
    ('CreatedDate', 'UpdatedDate')
    """
    if api_field in _SPECIAL_NAMES:
        return _SPECIAL_NAMES[api_field]
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_.\-]+", api_field) if part)


@dataclass(frozen=True)
class Column:
    """One SQL column and the API field it is read from.

    ``field`` is a key of the row object ("." for rows that are bare scalars). ``type`` is a
    DuckDB type name. ``time_format`` says how a TIMESTAMPTZ arrives: unix seconds (int or
    numeric string) or ISO-8601 text.
    """

    name: str
    field: str
    type: str
    description: str = ""
    path_param: str | None = None
    required_for_insert: bool = False
    read_only: bool = False
    secret: bool = False  # a credential (a subaccount's API key): replication leaves it out of every copy
    time_format: Literal["unix", "iso"] = "unix"
    max_length: int | None = None  # writes: the longest text the API accepts
    match_as: Literal["email", "phone", "text"] | None = None  # upserts compare this column (normalized)
    max_list_contacts: int | None = None  # sends: a ListId naming a larger list is refused
    recipient: Literal["phone", "list"] | None = None  # sends: a number messaged, or a list whose contacts each are
    write_field: str | None = None  # writes: the API field when it differs from the one read
    or_field: str | None = None  # reads: the field taken where ``field`` is missing or null (the spec and its examples disagree)


@dataclass(frozen=True)
class Endpoint:
    """An HTTP operation, path relative to ``/v3`` with ``{name}`` path variables."""

    method: str
    path: str
    shape: Shape = "object"
    rows_key: str | None = None  # for cursor_no_envelope: the key holding the row array
    params: dict[str, Any] = field(default_factory=dict)  # fixed query parameters
    batch: str | None = None  # writes: the body key holding a list of rows (``messages``), None for one row
    batch_size: int = 1  # writes: rows per request when ``batch`` is set
    price: str | None = None  # writes: the path that quotes the same body without sending it
    shared: tuple[str, ...] = ()  # writes: fields a batch carries once, beside its list (MMS media_file)
    charges: bool = False  # writes: the request sends or charges (counted by max_messages, max_cost, dry_run)

    @property
    def path_vars(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.path))


@dataclass(frozen=True)
class Filter:
    """A predicate shape the API evaluates: ``column op literal`` -> a request parameter.

    ``via`` is where the value goes: a path variable, a query parameter, or a ``q=field:value``
    search term. ``exact`` is true when the API returns exactly the rows SQL would keep, so the
    planner may push LIMIT and answer count(*) from ``total``. ``inclusive`` says whether a range
    parameter keeps rows equal to its value (``date_from`` does; ``updated_after`` does not).
    """

    column: str
    ops: tuple[str, ...]
    via: FilterVia
    param: str
    exact: bool
    inclusive: bool = True


@dataclass(frozen=True)
class Parent:
    """Rows of this table live under a parent row (Contacts under ContactLists)."""

    table: str
    column: str
    parent_column: str
    count_column: str | None = None  # the parent's column that counts its child rows, when the API has one


@dataclass(frozen=True)
class Search:
    """A keyword search that finds child rows without listing every parent (``/search/contacts-lists``).

    Its hits carry only the row's key (``id`` where ``type`` is ``row_type``), so the executor
    then GETs each hit under each parent; ``=`` on one of ``columns`` is a keyword the search
    finds (it matches text inside those fields, case-insensitively: a superset of ``=``).
    """

    path: str
    param: str
    key: str
    row_type: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class OrderBy:
    """Server-side sorting: ``param=field:asc|desc`` for the listed columns."""

    param: str
    fields: dict[str, str]  # column name -> API sort field


@dataclass(frozen=True)
class Table:
    """A ClickSend object exposed as a SQL table."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    list: Endpoint
    get: Endpoint | None = None
    insert: Endpoint | None = None
    update: Endpoint | None = None
    delete: Endpoint | None = None
    parent: Parent | None = None
    filters: tuple[Filter, ...] = ()
    order_by: OrderBy | None = None
    search: Search | None = None
    incremental: tuple[str, ...] = ()
    dml: tuple[str, ...] = ()
    insert_one_of: tuple[tuple[str, ...], ...] = ()  # INSERT needs a value in at least one column of each group
    auth: bool = True
    source_file: str = ""

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name.lower() == name.lower():
                return col
        from .errors import UnknownColumnError

        raise UnknownColumnError(
            f"Table {self.name} has no column {name!r}.{did_you_mean(name, self.column_names)}"
        )

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def needed_in_where(self) -> tuple[str, ...]:
        """The columns ClickSend lists this table only for a given value of (its list path's variables
        not filled from a parent's rows): AccountUsage needs a Year, AvailableNumbers a Country."""
        return tuple(c.name for var in self.list.path_vars for c in self.columns
                     if c.path_param == var and not (self.parent and self.parent.column == c.name))

    def filters_for(self, column: str) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if f.column.lower() == column.lower())


@dataclass(frozen=True)
class Parameter:
    """A stored-procedure parameter, in call order."""

    name: str
    type: str
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Procedure:
    """A ClickSend action exposed as ``CALL Name(:p1, :p2, ...)``.

    ``body`` and ``query`` are templates: a string ``":name"`` is replaced by that parameter's
    value (omitted when the parameter is NULL and optional); path variables are filled by name.
    ``charges`` marks calls that send or spend money: they are never retried automatically, and
    the caps count them (``messages``: how many they send, a number or the parameter naming the
    contact list sent to; ``quoted_by``: the procedure that prices the same arguments).
    ``changes`` is False for calls that only compute (prices), which ``dry_run`` lets through.
    """

    name: str
    description: str
    endpoint: Endpoint
    parameters: tuple[Parameter, ...]
    body: Any = None
    query: dict[str, Any] = field(default_factory=dict)
    charges: bool = False
    changes: bool = True  # False: only computes (a price), so dry_run makes it; GET never changes
    messages: int | str = 0  # messages sent: a count, or the parameter naming the list sent to
    quoted_by: str | None = None  # the procedure that prices the same arguments without sending
    auth: bool = True
    returns: str | None = None  # the table whose columns type the result rows
    source_file: str = ""


@dataclass(frozen=True)
class Catalog:
    """All tables and procedures, looked up case-insensitively by name."""

    tables: dict[str, Table]
    procedures: dict[str, Procedure]
    fingerprint: str = field(default="", repr=False, compare=False)  # of the files it was loaded from

    def table(self, name: str) -> Table:
        found = self.tables.get(name.lower())
        if found is None:
            names = [t.name for t in self.tables.values()]
            raise UnknownTableError(f"There is no ClickSend table {name!r}.{did_you_mean(name, names)}")
        return found

    def has_table(self, name: str) -> bool:
        return name.lower() in self.tables

    def has_procedure(self, name: str) -> bool:
        return name.lower() in self.procedures

    def procedure(self, name: str) -> Procedure:
        found = self.procedures.get(name.lower())
        if found is None:
            names = [p.name for p in self.procedures.values()]
            raise UnknownTableError(f"There is no ClickSend procedure {name!r}.{did_you_mean(name, names)}")
        return found


# --- loading -------------------------------------------------------------------------------


def catalog_dirs() -> tuple[Path, Path]:
    """Where ``schema/`` and ``procedures/`` are: inside the wheel, else the source checkout."""
    bundled = Path(str(resources.files("clicksend_sql"))) / "catalog_data"
    if (bundled / "schema").is_dir():
        return bundled / "schema", bundled / "procedures"
    root = Path(__file__).resolve().parents[2]
    return root / "schema", root / "procedures"


@cache
def load_catalog(schema_dir: Path | None = None, procedures_dir: Path | None = None) -> Catalog:
    """Load and validate every declaration; a malformed file raises :class:`CatalogError`.

    The shipped catalog's parsed YAML is kept in the user's cache (see :mod:`clicksend_sql.cache`),
    keyed by the files' names, sizes and modification times; validation runs on every load all the same.
    """
    default_schema, default_procs = catalog_dirs()
    files = [sorted((schema_dir or default_schema).glob("*.yaml")),
             sorted((procedures_dir or default_procs).glob("*.yaml"))]
    key = fingerprint(("catalog", *file_stamps(files[0]), "procedures", *file_stamps(files[1])))
    shipped = schema_dir in (None, default_schema) and procedures_dir in (None, default_procs)
    table_docs, procedure_docs = _parsed(files, key if shipped else None)
    tables = {t.name.lower(): t for t in (_load_table(doc, where) for where, doc in table_docs)}
    procs = {p.name.lower(): p for p in (_load_procedure(doc, where) for where, doc in procedure_docs)}
    catalog = Catalog(tables=tables, procedures=procs, fingerprint=key)
    _check_references(catalog)
    return catalog


Docs = list[tuple[str, dict[str, Any]]]  # (file name, its YAML) per file


def _parsed(files: list[list[Path]], key: str | None) -> tuple[Docs, Docs]:
    """Every file's YAML: from the cache entry ``key`` if there is one, else parsed (and kept there)."""
    def build(directory: Path) -> None:
        docs = [[(p.name, _read(p, kind)) for p in group] for group, kind in zip(files, KINDS, strict=True)]
        try:  # YAML that JSON cannot say as it is (dates, non-text keys) stays uncached
            text = orjson.dumps(docs, option=orjson.OPT_PASSTHROUGH_DATETIME)
        except TypeError:
            return
        (directory / "catalog.json").write_bytes(text)

    entry = cached_entry("catalog", key, build) if key is not None else None
    if entry is not None:
        try:
            tables, procedures = orjson.loads((entry / "catalog.json").read_bytes())
            return [(str(n), dict(d)) for n, d in tables], [(str(n), dict(d)) for n, d in procedures]
        except (OSError, ValueError):  # damaged: parse the files instead
            pass
    return [(p.name, _read(p, "table")) for p in files[0]], [(p.name, _read(p, "procedure")) for p in files[1]]


KINDS = ("table", "procedure")  # the two kinds of declaration, as ``declarations.schema.json`` names them


def _read(path: Path, kind: str) -> dict[str, Any]:
    """A declaration file's YAML, checked against its JSON Schema (only when the cache has no copy:
    a cached copy was checked when it was made)."""
    import yaml  # importing it costs ~10 ms

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses the catalog ~10x faster
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: not valid YAML: {exc}") from None
    problem = declaration_problem(doc, kind)
    if problem is not None:
        raise CatalogError(f"{path.name}: {problem}")
    return doc


def declaration_problem(doc: Any, kind: str) -> str | None:
    """What is wrong with a declaration, by ``declarations.schema.json``: the key path and what is
    accepted there; None when nothing is.

    >>> columns = [{"field": "id", "type": "BIGINT"}]
    >>> declaration_problem({"name": "T", "endpoints": {"list": {"path": "/t", "shape": "pages"}}, "columns": columns}, "table")
    "at endpoints.list.shape: 'pages' is not one of ['paginator', 'cursor', 'cursor_no_envelope', 'array', 'object', 'object_no_envelope']"
    >>> declaration_problem({"name": "P", "endpoint": "/p", "retry": True}, "procedure")
    "at the top level: 'retry' is not accepted; accepted keys: name, description, endpoint, parameters, body, query, charges, changes, messages, quoted_by, auth, returns"
    """
    import jsonschema  # only when a declaration is parsed (start-up)

    validator = jsonschema.Draft202012Validator(_schemas()[kind])
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return (f"at {where or 'the top level'}: {', '.join(map(repr, extra))} is not accepted; "
                f"accepted keys: {', '.join(error.schema.get('properties', {}))}")
    return f"at {where or 'the top level'}: {error.message}"


@cache
def _schemas() -> dict[str, Any]:
    return dict(orjson.loads((Path(__file__).parent / "declarations.schema.json").read_bytes()))


def _endpoint(raw: Any, method: str, where: str) -> Endpoint:
    if isinstance(raw, str):
        return Endpoint(method=method, path=raw)
    return Endpoint(
        method=str(raw.get("method", method)).upper(),
        path=raw["path"],
        shape=raw.get("shape", "object"),
        rows_key=raw.get("rows_key"),
        params=dict(raw.get("params") or {}),
        batch=raw.get("batch"),
        batch_size=int(raw.get("batch_size", 1)),
        price=raw.get("price"),
        shared=tuple(raw.get("shared") or ()),
        charges=bool(raw.get("charges", False)),
    )


def _load_table(doc: dict[str, Any], where: str) -> Table:
    try:
        columns = tuple(_column(c, where) for c in doc["columns"])
        names = {c.name.lower() for c in columns}
        eps = doc["endpoints"]
        table = Table(
            name=doc["name"],
            description=doc.get("description", ""),
            columns=columns,
            primary_key=tuple(doc.get("primary_key") or ()),
            list=_endpoint(eps["list"], "GET", where),
            get=_endpoint(eps["get"], "GET", where) if eps.get("get") else None,
            insert=_endpoint(eps["insert"], "POST", where) if eps.get("insert") else None,
            update=_endpoint(eps["update"], "PUT", where) if eps.get("update") else None,
            delete=_endpoint(eps["delete"], "DELETE", where) if eps.get("delete") else None,
            parent=Parent(**doc["parent"]) if doc.get("parent") else None,
            filters=tuple(_filter(f, columns, where) for f in doc.get("filters") or ()),
            order_by=OrderBy(param=doc["order_by"]["param"], fields=dict(doc["order_by"]["fields"]))
            if doc.get("order_by")
            else None,
            search=Search(**{**doc["search"], "columns": tuple(doc["search"]["columns"])}) if doc.get("search") else None,
            incremental=tuple(doc.get("incremental") or ()),
            dml=tuple(str(d).upper() for d in doc.get("dml") or ()),
            insert_one_of=tuple(tuple(group) for group in doc.get("insert_one_of") or ()),
            auth=bool(doc.get("auth", True)),
            source_file=where,
        )
    except (KeyError, TypeError) as exc:
        raise CatalogError(f"{where}: missing or malformed entry {exc}") from None
    one_of = [c for group in table.insert_one_of for c in group]
    searched = (table.search.key, *table.search.columns) if table.search else ()
    for ref in (*table.primary_key, *table.incremental, *(table.order_by.fields if table.order_by else ()), *one_of, *searched):
        if ref.lower() not in names:
            raise CatalogError(f"{where}: {ref!r} is not a declared column")
    for column, why in (doc.get("unbounded_incremental") or {}).items():
        if column not in table.incremental:
            raise CatalogError(f"{where}: unbounded_incremental names {column!r}, which is not in incremental")
    for column in table.incremental:
        lower = [f for f in table.filters_for(column) if {">", ">="} & set(f.ops)]
        if not lower and column not in (doc.get("unbounded_incremental") or {}):
            raise CatalogError(
                f"{where}: incremental column {column} has no filter that pushes a lower bound (ops '>' or '>='), so "
                "a read since a bound would fetch every row; declare that filter, or say why there is none under "
                f"unbounded_incremental: {{{column}: ...}}"
            )
    return table


def _column(raw: dict[str, Any], where: str) -> Column:
    col_type = str(raw["type"]).upper()
    return Column(
        name=raw.get("name") or column_name(raw["field"]),
        field=raw["field"],
        type=col_type,
        description=raw.get("description", ""),
        path_param=raw.get("path_param"),
        required_for_insert=bool(raw.get("required_for_insert", False)),
        read_only=bool(raw.get("read_only", False)),
        secret=bool(raw.get("secret", False)),
        time_format=raw.get("time_format", "unix"),
        max_length=int(raw["max_length"]) if raw.get("max_length") is not None else None,
        match_as=raw.get("match_as"),
        max_list_contacts=int(raw["max_list_contacts"]) if raw.get("max_list_contacts") is not None else None,
        recipient=raw.get("recipient"),
        write_field=raw.get("write_field"),
        or_field=raw.get("or_field"),
    )


def _filter(raw: dict[str, Any], columns: tuple[Column, ...], where: str) -> Filter:
    col = raw["column"]
    if col.lower() not in {c.name.lower() for c in columns}:
        raise CatalogError(f"{where}: filter on undeclared column {col!r}")
    ops = tuple(str(o).upper() for o in raw.get("ops", ["="]))
    via = raw.get("via", "query")
    return Filter(
        column=col,
        ops=ops,
        via=via,
        param=raw["param"],
        exact=bool(raw.get("exact", via == "path")),
        inclusive=bool(raw.get("inclusive", True)),
    )


def _load_procedure(doc: dict[str, Any], where: str) -> Procedure:
    try:
        raw = doc["endpoint"]
        endpoint = _endpoint(raw if isinstance(raw, dict) else {"path": raw}, "POST", where)
        return Procedure(
            name=doc["name"],
            description=doc.get("description", ""),
            endpoint=endpoint,
            parameters=tuple(
                Parameter(
                    name=p["name"],
                    type=str(p.get("type", "VARCHAR")).upper(),
                    required=bool(p.get("required", True)),
                    description=p.get("description", ""),
                )
                for p in doc.get("parameters") or ()
            ),
            body=doc.get("body"),
            query=dict(doc.get("query") or {}),
            charges=bool(doc.get("charges", False)),
            changes=bool(doc.get("changes", True)) and endpoint.method != "GET",
            messages=doc.get("messages", 0),
            quoted_by=doc.get("quoted_by"),
            auth=bool(doc.get("auth", True)),
            returns=doc.get("returns"),
            source_file=where,
        )
    except (KeyError, TypeError) as exc:
        raise CatalogError(f"{where}: missing or malformed entry {exc}") from None


def _check_references(catalog: Catalog) -> None:
    for procedure in catalog.procedures.values():
        if procedure.returns and not catalog.has_table(procedure.returns):
            raise CatalogError(f"{procedure.source_file}: returns table {procedure.returns!r} is not declared")
        names = {p.name for p in procedure.parameters}
        if isinstance(procedure.messages, str) and procedure.messages not in names:
            raise CatalogError(f"{procedure.source_file}: messages names {procedure.messages!r}, not one of its parameters")
        if procedure.quoted_by:
            if not catalog.has_procedure(procedure.quoted_by):
                raise CatalogError(f"{procedure.source_file}: quoted_by {procedure.quoted_by!r} is not a declared procedure")
            missing = {p.name for p in catalog.procedure(procedure.quoted_by).parameters if p.required} - names
            if missing:
                raise CatalogError(f"{procedure.source_file}: quoted_by {procedure.quoted_by} needs {', '.join(sorted(missing))}, "
                                   "which this procedure does not take")
    for table in catalog.tables.values():
        if table.parent and not catalog.has_table(table.parent.table):
            raise CatalogError(f"{table.source_file}: parent table {table.parent.table!r} is not declared")
        count = table.parent.count_column if table.parent else None
        if table.parent and count and count not in {c.name for c in catalog.table(table.parent.table).columns}:
            raise CatalogError(f"{table.source_file}: count_column {count!r} is not a column of {table.parent.table}")
