"""Where tests find ground truth: ``tests/data`` (vendored, always there) and ../shared (optional).

A clone of this repository alone must pass the suite, so tests read the vendored copy. Only the
tests that compare the copy with ../shared, or use a third-party corpus that is not vendored,
need ../shared, and they skip with a reason when it is absent.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
API = DATA / "clicksend-api"
SHARED = REPO.parent / "shared"


def load(relative: str) -> Any:
    """A vendored JSON file under tests/data."""
    return json.loads((DATA / relative).read_text(encoding="utf-8"))


def shared_path(relative: str = "") -> Path:
    """A path in ../shared, or skip the test: a lone clone has no ../shared."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"needs ../shared/{relative}, which only the project's workspace has (not a plain clone)")
    return path


def tool(name: str) -> ModuleType:
    """A script of tools/ as a module (tools/ is not a package; its scripts import each other)."""
    tools = str(REPO / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    return importlib.import_module(name)
