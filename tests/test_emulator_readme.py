"""The emulator README's per-operation table (stateful vs shaped) is the one tools/emulator_table.py makes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parent.parent / "tools" / "emulator_table.py"


def test_operations_table_is_current() -> None:
    loaded = importlib.util.spec_from_file_location("emulator_table", TOOL)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    current = module.README.read_text("utf-8")
    assert module.render(current) == current, "run: python tools/emulator_table.py"
