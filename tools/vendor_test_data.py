"""Regenerate ``tests/data/`` from ../shared, so the tests run in a clone that has no ../shared.

What is vendored, and how it is trimmed (see ``tests/data/README.md`` for the origins):

* ``clicksend-api/endpoints.json`` - every entry, without the prose and provenance keys no test
  reads (descriptions, summaries, apiary example bodies, SDK names);
* ``clicksend-api/models.json`` - every model, without descriptions and whole-model examples
  (field examples stay: the catalog tests read them);
* ``clicksend-api/NOTES.md`` - verbatim;
* ``clicksend-api/specs/*.excerpt.json`` - of the v5 swagger and the apiary conversion, only the
  key paths listed in :data:`EXCERPTS`, at the same place in the document;
* ``seeds/skyvia.json`` - the facts of Skyvia's connector page (seed 000) the catalog honours:
  incremental objects, the DML matrix and the stored procedures with their parameter order;
* ``seeds/power_automate_trigger.json`` - the Power Automate connector's (seed 003, published by
  ClickSend) Inbound SMS trigger: the fields, with their types, of the webhook an inbound rule sends.

``tests/test_spec_notes.py`` calls :func:`build` when ../shared exists and compares with the
vendored files, so the copy cannot drift.

Usage: ``python tools/vendor_test_data.py [SHARED_DIR]``
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from vendor_spec import dump, load_yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
OUT = REPO / "tests" / "data"
SKYVIA_SEED = "seeds/000_6025ebdfe798be73.txt"
POWER_AUTOMATE_SEED = "seeds/003_b4790e211fad9623.txt"
ENDPOINT_KEYS_DROPPED = frozenset(
    {"description", "summary", "tags", "apiary_response_example", "python_sdk_v6", "status_in_sources", "also_in"}
)
# Source file -> key paths kept (each path is the keys from the document's root down).
EXCERPTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "specs/swagger-v5-clicksend-go.yaml": (("paths", "/lists", "get", "parameters"),),
    "specs/apiary-docs-apisguru-openapi.json": (
        ("paths", "/sms/inbound-read/{message_id}", "put", "responses", "200"),
        ("paths", "/sms/inbound", "get", "responses", "200"),
    ),
}


def _without(node: Any, key: str) -> Any:
    """``node`` with ``key`` removed from every mapping, however deep."""
    if isinstance(node, dict):
        return {k: _without(v, key) for k, v in node.items() if k != key}
    if isinstance(node, list):
        return [_without(v, key) for v in node]
    return node


def endpoints(api: Path) -> list[dict[str, Any]]:
    """endpoints.json without prose; query parameter descriptions stay (they carry ranges)."""
    return [
        {k: _without(v, "description") if k == "body_fields" else v for k, v in e.items() if k not in ENDPOINT_KEYS_DROPPED}
        for e in json.loads((api / "endpoints.json").read_text(encoding="utf-8"))
    ]


def models(api: Path) -> dict[str, Any]:
    """models.json without descriptions and whole-model examples."""
    return {
        name: _without({k: v for k, v in model.items() if k != "example"}, "description")
        for name, model in json.loads((api / "models.json").read_text(encoding="utf-8")).items()
    }


def excerpt(doc: dict[str, Any], key_paths: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    """The parts of ``doc`` at ``key_paths``, nested as in ``doc``."""
    out: dict[str, Any] = {}
    for keys in key_paths:
        src, dst = doc, out
        for key in keys[:-1]:
            src, dst = src[key], dst.setdefault(key, {})
        dst[keys[-1]] = src[keys[-1]]
    return out


def skyvia_facts(text: str) -> dict[str, Any]:
    """Incremental objects, DML matrix and stored procedures from Skyvia's connector page."""
    listed = re.search(r"Incremental Updates is supported for the following objects: ([^.]+)\.", text)
    section = text.split("DML Operations", 1)[1].split("Stored Procedures", 1)[0]
    rows = re.findall(r"^((?:INSERT|UPDATE|DELETE)(?:, (?:INSERT|UPDATE|DELETE))*) (\w.*)$", section, re.M)
    calls = re.findall(r"call (\w+)\(([^)]*)\)", text)
    if listed is None or len(rows) != 4 or len(calls) < 26:
        raise ValueError("the Skyvia page no longer has the expected sections; update skyvia_facts()")
    return {
        "source": SKYVIA_SEED,
        "incremental_objects": [o.strip() for o in listed.group(1).split(",")],
        "dml": {o.strip(): ops.split(", ") for ops, objects in rows for o in objects.split(",")},
        "procedures": {name: [a.strip().lstrip(":") for a in args.split(",") if a.strip()] for name, args in calls},
    }


def power_automate_trigger(text: str) -> dict[str, Any]:
    """The Inbound SMS trigger's returned fields (key -> type) from the Power Automate page."""
    section = text.split("\nTriggers\n", 1)[1].split("Returns\n", 1)[1]
    fields = re.findall(r"^\|\n(\w+) \| (\w+) \|$", section, re.M)
    if len(fields) < 8:
        raise ValueError("the Power Automate page no longer has the trigger table; update power_automate_trigger()")
    return {"source": POWER_AUTOMATE_SEED, "trigger": "SMS Inbound Automation", "fields": dict(fields)}


def build(shared: Path = SHARED) -> dict[str, str]:
    """Path under tests/data -> file text, exactly as vendored."""
    api = shared / "clicksend-api"
    files = {
        "clicksend-api/endpoints.json": dump(endpoints(api)),
        "clicksend-api/models.json": dump(models(api)),
        "clicksend-api/NOTES.md": (api / "NOTES.md").read_text(encoding="utf-8"),
        "seeds/skyvia.json": dump(skyvia_facts((shared / SKYVIA_SEED).read_text(encoding="utf-8"))),
        "seeds/power_automate_trigger.json": dump(
            power_automate_trigger((shared / POWER_AUTOMATE_SEED).read_text(encoding="utf-8", errors="replace"))),
    }
    for source, key_paths in EXCERPTS.items():
        path = api / source
        doc = json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" else load_yaml(path)
        files[f"clicksend-api/{source.rsplit('.', 1)[0]}.excerpt.json"] = dump(excerpt(doc, key_paths))
    return files


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED
    for name, text in build(shared).items():
        target = OUT / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
