"""Regenerate ``connector/clicksend_sql/emulator/spec_data/`` from ../shared/clicksend-api.

The emulator must not read ../shared at run time and YAML parsing of the 4.6 MB specs takes
seconds, so the parts it needs are vendored as compact JSON:

* ``openapi.json``  - ``paths`` + ``components`` of the current spec (code samples dropped);
* ``c73ffe8.json``  - the fax/letter/postcard/fax-automation paths only in spec@c73ffe8, with
  just the component schemas they reference (transitively);
* ``response_msgs.json`` - operation id -> the ``response_msg`` sentence from endpoints.json;
* ``docs_overlay.json`` - per operation id, what endpoints.json adds from the docs' description
  tables and older sources that the spec schemas lack: ``required`` top-level body fields and
  ``query`` parameters (name -> JSON type);
* ``apiary_examples.json`` - operation id -> the older docs' example response, for the current
  operations whose spec response has no schema at all (the emulator answers with its shape).

``tests/test_spec_notes.py`` calls :func:`build` and compares with the vendored files, so the
copy cannot drift from the YAML.

Usage: ``python tools/vendor_spec.py [SHARED_DIR]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "clicksend-api"
OUT = REPO / "connector" / "clicksend_sql" / "emulator" / "spec_data"
METHODS = ("get", "put", "post", "delete", "patch")
C73FFE8 = "specs/openapi-v6-c73ffe8-with-fax-post.yaml"
_JSON_TYPES = {"integer": "integer", "number": "number", "boolean": "boolean", "array": "array"}


class _Loader(yaml.CSafeLoader):
    """Safe loader that keeps timestamps as the strings written in the spec (JSON has no dates)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return yaml.load(fh, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def _strip_code_samples(node: Any) -> Any:
    """Drop ``x-codeSamples`` (curl/PHP/Java snippets: half the file, useless to the emulator)."""
    if isinstance(node, dict):
        return {k: _strip_code_samples(v) for k, v in node.items() if k != "x-codeSamples"}
    if isinstance(node, list):
        return [_strip_code_samples(v) for v in node]
    return node


def _refs(node: Any) -> set[str]:
    """Names of the component schemas referenced anywhere under ``node``."""
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _extra_paths(old: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The operations of ``old`` whose (method, path) the current spec no longer has."""
    extra: dict[str, Any] = {}
    for path, item in old["paths"].items():
        ops = {m: op for m, op in item.items() if m in METHODS and m not in current["paths"].get(path, {})}
        if ops:
            extra[path] = ops
    return extra


def _closure(schemas: dict[str, Any], roots: set[str]) -> dict[str, Any]:
    """The schemas named in ``roots`` plus everything they reference."""
    todo, seen = set(roots), set()
    while todo:
        name = todo.pop()
        seen.add(name)
        todo |= _refs(schemas[name]) - seen
    return {name: schemas[name] for name in sorted(seen)}


def _sentence(endpoint: dict[str, Any]) -> str | None:
    """The endpoint's response_msg: the spec example's unless it is the placeholder "response_msg"
    (send-voice-message and two others), then the older docs'."""
    example = endpoint.get("response_msg_example")
    return (example if example != "response_msg" else None) or endpoint.get("apiary_response_msg")


def build(shared: Path = SHARED) -> dict[str, Any]:
    """File name -> JSON document, exactly as vendored."""
    current = load_yaml(shared / "openapi.yaml")
    old = load_yaml(shared / C73FFE8)
    extra = _strip_code_samples(_extra_paths(old, current))
    endpoints = json.loads((shared / "endpoints.json").read_text())
    wanted = {"openapi.yaml", C73FFE8}
    msgs = {e["operation_id"]: _sentence(e) for e in endpoints if e["source"] in wanted and _sentence(e)}
    schemaless = {
        op["operationId"]
        for item in current["paths"].values()
        for method, op in item.items()
        if method in METHODS and not any(
            (resp.get("content") or {}).get("application/json", {}).get("schema")
            for code, resp in op["responses"].items()
            if code.startswith("2")
        )
    }
    apiary = {
        e["operation_id"]: e["apiary_response_example"]
        for e in endpoints
        if e["operation_id"] in schemaless and e.get("apiary_response_example") is not None
    }
    overlay: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        if e["source"] not in wanted:
            continue
        required = [
            f["name"]
            for f in e.get("body_fields") or []
            if f.get("required_per_docs") or (f.get("documented_in") and f.get("required"))
        ]
        query = {q["name"]: _JSON_TYPES.get(q["type"], "string") for q in e["query_params"] if q.get("documented_in")}
        entry = {k: v for k, v in (("required", required), ("query", query)) if v}
        if entry:
            overlay[e["operation_id"]] = entry
    return {
        "openapi.json": {"paths": _strip_code_samples(current["paths"]), "components": current["components"]},
        "c73ffe8.json": {
            "paths": extra,
            "components": {"schemas": _closure(old["components"]["schemas"], _refs(extra))},
        },
        "response_msgs.json": dict(sorted(msgs.items())),
        "apiary_examples.json": dict(sorted(apiary.items())),
        "docs_overlay.json": dict(sorted(overlay.items())),
    }


def dump(doc: Any) -> str:
    """The vendored serialisation: compact, key order kept, one trailing newline."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED
    OUT.mkdir(parents=True, exist_ok=True)
    for name, doc in build(shared).items():
        (OUT / name).write_text(dump(doc), encoding="utf-8")
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
