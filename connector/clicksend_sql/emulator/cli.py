"""``clicksend-sql emulator``: serve an emulated ClickSend account until Ctrl-C."""

from __future__ import annotations

import datetime as dt
import socket

import sys
from typing import Any

import click

from ..errors import ClickSendSQLError
from .app import Knobs
from ..config import is_loopback_host
from .seed import SIZE_NAMES, api_key_for, check_sizes, utc_today
from ..serving import bind, quiet_server
from .server import make_app


def _parse_sizes(values: tuple[str, ...]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for item in values:
        name, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit():
            raise click.BadParameter(f"{item!r} should look like NAME=COUNT, e.g. contacts=50000.", param_hint="--size")
        sizes[name.strip()] = int(count)
    try:
        check_sizes(sizes)
    except ClickSendSQLError as err:
        raise click.BadParameter(str(err), param_hint="--size") from None
    return sizes


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (keep it loopback).")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same demo account.")
@click.option("--size", "sizes", multiple=True, metavar="NAME=COUNT",
              help=f"Seeded rows of a resource, repeatable. Names: {', '.join(SIZE_NAMES)}.")
@click.option("--username", default="demo", show_default=True)
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Seeded history ends at the start of this UTC date (default: today), e.g. 2026-01-01.")
@click.option("--latency-ms", default=0.0, show_default=True, type=click.FloatRange(0), help="Added to every request.")
@click.option("--jitter-ms", default=0.0, show_default=True, type=click.FloatRange(0), help="Random +/- on the latency.")
@click.option("--rate-limit", default=None, type=click.FloatRange(0, min_open=True),
              help="Requests per second (burst the same); excess get 429.")
@click.option("--rate-headers/--no-rate-headers", default=True, show_default=True,
              help="Send x-ratelimit-limit/-remaining, ratelimit-reset and Retry-After (off: as a stripping proxy).")
@click.option("--fault-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of requests that fail: answered 500 or dropped, or processed with the answer lost.")
@click.option("--lost-share", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Of the faults, the share processed before the connection drops (the client cannot tell).")
@click.option("--delivery-attempts", default=4, show_default=True, type=click.IntRange(1),
              help="Webhook calls per inbound SMS or receipt delivery before giving up (loopback URLs only).")
@click.option("--delivery-backoff-ms", default=200.0, show_default=True, type=click.FloatRange(0),
              help="Wait before a webhook's 2nd call, doubled before each later one.")
def emulator_command(host: str, port: int, seed: int, sizes: tuple[str, ...], username: str, today: dt.datetime | None,
                     latency_ms: float, jitter_ms: float, rate_limit: float | None, rate_headers: bool, fault_rate: float,
                     lost_share: float, delivery_attempts: int, delivery_backoff_ms: float) -> None:
    """Run a local ClickSend REST v3 emulator (for tests, demos and benchmarks)."""
    if not is_loopback_host(host):
        click.echo(f"Warning: --host {host} is not a loopback address: other machines can reach the emulator, and "
                   "its demo API key is no secret. Keep it on 127.0.0.1 unless you mean to share it.", err=True)
    app = make_app(seed=seed, sizes=_parse_sizes(sizes), username=username, today=today.date() if today else utc_today(),
                   knobs=Knobs(latency_ms=latency_ms, jitter_ms=jitter_ms, rate_limit=rate_limit, rate_headers=rate_headers,
                               fault_rate=fault_rate,
                               lost_share=lost_share, delivery_attempts=delivery_attempts,
                               delivery_backoff_ms=delivery_backoff_ms))
    try:
        sock = bind(host, port)
    except OSError as err:
        raise click.ClickException(f"Cannot listen on {host}:{port}: {err.strerror}.") from None
    try:
        _serve(app, sock, username, seed)
    except KeyboardInterrupt:  # how the command is meant to end (uvicorn raises it again after shutting down)
        sys.exit(130)


def _serve(app: Any, sock: socket.socket, username: str, seed: int) -> None:
    """Say where the emulator listens and with which credentials, then serve until Ctrl-C."""
    bound_host, bound_port = sock.getsockname()[:2]
    click.echo(f"base_url: http://{bound_host}:{bound_port}/v3")
    click.echo(f"username: {username}")
    click.echo(f"api_key:  {api_key_for(seed)}")
    click.echo("Press Ctrl-C to stop.", err=True)
    quiet_server(app).run(sockets=[sock])
