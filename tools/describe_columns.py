"""Fill the ``description:`` of schema/*.yaml columns from the ClickSend spec's field descriptions.

The descriptions become ``COMMENT ON COLUMN`` in DuckDB (system_tables.catalog_ddl), so
``duckdb_columns()``, ``sys_columns`` and DESCRIBE-like tools show what each column means. The
spec describes nearly every field; this copies its words instead of paraphrasing them.

A column's description is the first the spec gives its field, searching in this order:

1. the row schema of the success response of the table's list, then get, endpoint (where the
   connector reads rows: ``conversion.rows_path``);
2. the request body schema of its insert, then update, endpoint;
3. the Markdown documentation tables in the descriptions of the list, get, insert and update
   operations (body properties, and path parameters: e.g. AccountUsage's Year and Month).

All three come from the vendored spec in connector/clicksend_sql/emulator/spec_data (the current
spec plus the fax/post operations of spec@c73ffe8), so the tool runs the same in a plain clone
and never reads ../shared. The richer copies there were checked and add nothing for these
columns: models.json's descriptions are the same spec schemas', the older v5/Apiary models that
only it has describe none of the fields the current spec leaves undescribed, and endpoints.json's
body-field descriptions are the documentation tables of source 3.

What the spec says is not taken at face value where it is visibly copy-pasted:

* a field that is a ``$ref`` gets the referenced schema's description only if that schema was
  written for a field of that name (``account__referrer_chosen`` describes ``_referrer_chosen``,
  not UserCountries' ``registration_entity``, which merely reuses its shape);
* a description one schema gives to several of its fields (ReferralAccounts: "The ID of the
  Referral Account." for the rule id, the referred user and the date) describes at most one of
  them and nobody can tell which, so none of them gets it from that source.

Spec markup (HTML tags, Markdown links, emphasis, escapes, line breaks) becomes plain single-line
text; a field the spec does not describe ("none", empty) gets no description.

Only columns without a description are filled, so hand-written descriptions are never replaced
and a second run changes nothing. Lines are edited in place (each column is one flow mapping on
one line), so comments and layout survive and diffs stay small.

Usage: ``python tools/describe_columns.py [--check]`` (``--check``: change nothing, exit 1 if a
file would change).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from clicksend_sql.catalog import Endpoint, Table, load_catalog
from clicksend_sql.conversion import rows_path
from clicksend_sql.emulator import spec

REPO = Path(__file__).resolve().parents[1]
SCHEMA_DIR = REPO / "schema"
PROCEDURES_DIR = REPO / "procedures"

Fields = dict[str, str]  # API field -> the spec's description, markup and all


# --- the spec's descriptions ---------------------------------------------------------------


def _operation(ep: Endpoint | None) -> spec.Operation | None:
    if ep is None:
        return None
    try:
        return spec.find(ep.method, ep.path)
    except StopIteration:
        return None


def _properties(source: str, node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The properties of the object(s) ``node`` stands for: refs and allOf followed, array items
    and oneOf/anyOf arms merged."""
    node = spec.flatten(source, node)
    if node.get("type") == "array" and "items" in node:
        return _properties(source, node["items"])
    props: dict[str, dict[str, Any]] = {}
    for arm in node.get("oneOf", []) + node.get("anyOf", []):
        props |= _properties(source, arm)
    return props | node.get("properties", {})


def _own_description(source: str, field: str, schema: dict[str, Any]) -> str:
    """The description the spec wrote for ``field``; a ``$ref``'d schema's only if it is named
    after the field (the generator names them ``<model>_<field>``), else it describes another field."""
    ref = schema.get("$ref", "")
    if ref and not ref.rsplit("/", 1)[-1].endswith(field.lstrip("_")):
        return ""
    return spec.flatten(source, schema).get("description") or ""


def _unambiguous(found: Fields) -> Fields:
    """``found`` without the descriptions it gives to more than one field (copy-paste in the spec)."""
    counts = Counter(plain(text) for text in found.values())
    return {field: text for field, text in found.items() if counts[plain(text)] == 1}


def _described(source: str, props: dict[str, dict[str, Any]]) -> Fields:
    found = {name: _own_description(source, name, sub) for name, sub in props.items()}
    return _unambiguous({name: text for name, text in found.items() if text})


def response_fields(ep: Endpoint | None) -> Fields:
    """Descriptions of the row fields of ``ep``'s success response."""
    op = _operation(ep)
    schema = spec.success_schema(op) if op else None
    if ep is None or op is None or schema is None:
        return {}
    props = _properties(op.source, schema)
    for key in rows_path(ep.shape, ep.rows_key):
        if key not in props:
            return {}
        props = _properties(op.source, props[key])
    return _described(op.source, props)


def body_fields(ep: Endpoint | None) -> Fields:
    """Descriptions of the top-level fields of ``ep``'s request body."""
    op = _operation(ep)
    schema = spec.request_schema(op) if op else None
    return _described(op.source, _properties(op.source, schema)) if op and schema else {}


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table row (``\\|`` is a literal bar)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def docs_table_fields(ep: Endpoint | None) -> Fields:
    """Descriptions from the Markdown tables of ``ep``'s operation description: body properties
    (``| Name | Type | Required | Restrictions | Description |``) and path parameters
    (``| Parameter | In | Type | Required | Description |``; query parameters are not fields)."""
    op = _operation(ep)
    text = spec.raw_operation(op).get("description", "") if op else ""
    found: Fields = {}
    header: list[str] = []
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            header = []
        elif not header:
            header = [c.strip("*").lower() for c in _cells(line)]
        elif not set(line) <= set("|-: "):
            row = dict(zip(header, _cells(line)))
            name = row.get("name") or row.get("field") or (row.get("parameter") if row.get("in") == "path" else "")
            if name and row.get("description"):
                found.setdefault(name.strip("`* "), row["description"])
    return _unambiguous(found)


def spec_sources(table: Table) -> list[tuple[str, Fields]]:
    """(source name, field descriptions) for ``table``, best source first."""
    docs = [("list", table.list), ("get", table.get), ("insert", table.insert), ("update", table.update)]
    return [
        ("list response", response_fields(table.list)),
        ("get response", response_fields(table.get)),
        ("insert body", body_fields(table.insert)),
        ("update body", body_fields(table.update)),
        *((f"{kind} docs table", docs_table_fields(ep)) for kind, ep in docs),
    ]


# --- spec markup -> plain text -------------------------------------------------------------

_NONE = {"", "none", "n/a", "null", "-"}


def plain(text: str) -> str:
    """One line of plain text from a spec description (HTML, Markdown links, emphasis, escapes).

    >>> plain('Added, as a <a href="http://x">Unix timestamp</a>.')
    'Added, as a Unix timestamp.'
    >>> plain("Number in\\\\_[E.164](https://e.org)\\\\_format.\\n**Required** for _list_id_, `to`..")
    'Number in E.164 format. Required for list_id, to.'
    >>> plain("none"), plain("see date_added and _list_name")
    ('', 'see date_added and _list_name')
    """
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.I)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
    text = text.replace("\\_", " ")  # escaped underscores stand in for spaces around emphasis
    text = re.sub(r"\\(.)", r"\1", text)
    text = re.sub(r"\*\*|__|`", "", text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<!\w)_([^_\s](?:[^\n]*?[^_\s])?)_(?!\w)", r"\1", text)  # _word_, _snake_case_
    text = " ".join(text.split())
    text = re.sub(r"\s+([,;:)]|\.(?!\.))", r"\1", text)  # "timestamp ." left by a removed tag
    text = re.sub(r"(?<!\.)\.\.(?!\.)", ".", text)
    return "" if text.lower().strip(".") in _NONE else text


def describe(table: Table) -> dict[str, tuple[str, str]]:
    """API field -> (plain description, source name), for ``table``'s columns the spec describes."""
    fields = {c.field for c in table.columns}
    out: dict[str, tuple[str, str]] = {}
    for source, found in spec_sources(table):
        for field, raw in found.items():
            if field in fields and field not in out and (text := plain(raw)):
                out[field] = (text, source)
    return out


# --- YAML, edited line by line -------------------------------------------------------------

_COLUMN_LINE = re.compile(r"^(?P<head>\s*-\s*)(?P<map>\{.*\})(?P<tail>\s*(#.*)?)$")



def _scalar(text: str) -> str:
    """``text`` as a YAML scalar inside a flow mapping: plain if YAML reads it back unchanged,
    else single-quoted (as the hand-written descriptions are).

    >>> _scalar("The ID of the user."), _scalar("Status: Sent, Failed"), _scalar("'Sent' or not")
    ('The ID of the user.', "'Status: Sent, Failed'", "'''Sent'' or not'")
    """
    try:
        if yaml.safe_load(f"{{k: {text}}}") == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return "'" + text.replace("'", "''") + "'"


def filled(text: str, found: dict[str, str], where: str = "") -> tuple[str, int]:
    """``text`` (a schema file) with ``found[field]`` added as the description of every column
    line that has none; and how many were added."""
    out: list[str] = []
    added = 0
    in_columns = False
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if body[:1] not in ("", " ", "#"):
            in_columns = body.startswith("columns:")
        match = _COLUMN_LINE.match(body) if in_columns else None
        column = yaml.safe_load(match["map"]) if match else None
        if match and isinstance(column, dict) and "description" not in column and column.get("field") in found:
            description = found[column["field"]]
            mapping = f"{match['map'][:-1].rstrip()}, description: {_scalar(description)}}}"
            if yaml.safe_load(mapping) != column | {"description": description}:
                raise ValueError(f"{where}: cannot add a description to {body!r}")
            line = f"{match['head']}{mapping}{match['tail']}{line[len(body):]}"
            added += 1
        out.append(line)
    return "".join(out), added


def descriptions(table: Table) -> dict[str, str]:
    """API field -> plain description, for ``table``'s columns the spec describes."""
    return {field: text for field, (text, _) in describe(table).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    args = parser.parse_args(argv)
    catalog = load_catalog(SCHEMA_DIR, PROCEDURES_DIR)
    added = total = before = 0
    for table in sorted(catalog.tables.values(), key=lambda t: t.name):
        path = SCHEMA_DIR / table.source_file
        new, count = filled(path.read_text(encoding="utf-8"), descriptions(table), table.source_file)
        total += len(table.columns)
        before += sum(bool(c.description) for c in table.columns)
        added += count
        if count:
            print(f"{table.source_file}: {count} description(s) {'missing' if args.check else 'added'}")
            if not args.check:
                path.write_text(new, encoding="utf-8")
    print(f"columns with a description: {before} -> {before + added} of {total}")
    return 1 if args.check and added else 0


if __name__ == "__main__":
    sys.exit(main())
