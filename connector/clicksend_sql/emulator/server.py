"""Build the app (served with uvicorn on an already-bound socket: :mod:`clicksend_sql.serving`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from .app import EmulatorApp, Knobs
from .seed import api_key_for, build_store


def make_app(*, seed: int, sizes: Mapping[str, int], username: str, knobs: Knobs, today: dt.date) -> EmulatorApp:
    """A freshly seeded emulator application whose history ends at the start of ``today``."""
    store = build_store(seed, sizes, username, today)
    return EmulatorApp(store, username=username, api_key=api_key_for(seed), seed=seed, knobs=knobs)
