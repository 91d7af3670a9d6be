"""Build the app and serve it with uvicorn on an already-bound socket."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Mapping

import uvicorn

from .app import EmulatorApp, Knobs
from .seed import api_key_for, build_store


def make_app(*, seed: int, sizes: Mapping[str, int], username: str, knobs: Knobs, today: dt.date) -> EmulatorApp:
    """A freshly seeded emulator application whose history ends at the start of ``today``."""
    store = build_store(seed, sizes, username, today)
    return EmulatorApp(store, username=username, api_key=api_key_for(seed), seed=seed, knobs=knobs)


def bind(host: str, port: int) -> socket.socket:
    """Bind and listen now, so the port is known (port 0) and connections queue before serving."""
    sock = socket.create_server((host, port), backlog=2048)
    sock.set_inheritable(True)
    return sock


def make_server(app: EmulatorApp) -> uvicorn.Server:
    """A quiet uvicorn server (the fastest available loop and HTTP parser, no access log)."""
    config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="critical", log_config=None,
                            loop="auto", http="auto", timeout_keep_alive=30)
    return uvicorn.Server(config)
