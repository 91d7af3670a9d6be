"""Serving an ASGI app with uvicorn on a socket bound first (so port 0 is known at once), quietly."""

from __future__ import annotations

import socket
from typing import Any

import uvicorn


def bind(host: str, port: int) -> socket.socket:
    """Bind and listen now, so the port is known (port 0) and connections queue before serving."""
    sock = socket.create_server((host, port), backlog=2048)
    sock.set_inheritable(True)
    return sock


def quiet_server(app: Any) -> uvicorn.Server:
    """A uvicorn server with the fastest available loop and HTTP parser, no access log, no lifespan."""
    config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="critical", log_config=None,
                            loop="auto", http="auto", timeout_keep_alive=30)
    return uvicorn.Server(config)
