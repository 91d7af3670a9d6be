"""Regenerate ``connector/clicksend_sql/operations.json``: every ClickSend operation, compactly.

``sys_operations`` lists each operation of the current spec plus the fax/letter/postcard
operations of spec@c73ffe8 (201, as the emulator counts them) with the SQL that reaches it.
The operations come from the emulator's vendored spec (``clicksend_sql.emulator.spec``), but
loading that at connect time costs over a second (JSON documents, jsonschema), so the few
facts ``sys_operations`` needs are copied here: id, method, v3 path, source spec, summary.

``tests/test_operations.py`` calls :func:`build` and compares with the vendored file, so the
copy cannot drift from the spec data.

Usage: ``python tools/vendor_operations.py``
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "connector" / "clicksend_sql" / "operations.json"
SOURCES = {"openapi.yaml": "openapi.yaml", "c73ffe8": "c73ffe8 (fax/post)"}


def build() -> list[dict[str, Any]]:
    """One entry per operation, in the spec's order (current spec first)."""
    from clicksend_sql.emulator import spec

    return [
        {
            "operation_id": op.operation_id,
            "method": op.method,
            "path": "/v3" + op.path,
            "spec": SOURCES[op.source],
            "summary": spec.raw_operation(op).get("summary", ""),
        }
        for op in spec.load_operations()
    ]


def dump(operations: list[dict[str, Any]]) -> str:
    """One operation per line: small diffs when the spec changes."""
    lines = ",\n".join("  " + json.dumps(op, ensure_ascii=False) for op in operations)
    return f"[\n{lines}\n]\n"


def main() -> None:
    OUT.write_text(dump(build()), encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
