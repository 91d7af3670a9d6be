"""``clicksend-sql emulator``: serve an emulated ClickSend account until Ctrl-C."""

from __future__ import annotations

import datetime as dt
import ipaddress

import click

from ..errors import ClickSendSQLError
from .app import Knobs
from .seed import SIZE_NAMES, api_key_for, check_sizes, utc_today
from .server import bind, make_app, make_server


def _is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host`` (a name other than localhost may resolve anywhere).

    >>> _is_loopback("127.0.0.1"), _is_loopback("::1"), _is_loopback("localhost"), _is_loopback("0.0.0.0")
    (True, True, True, False)
    """
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"


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
@click.option("--fault-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of requests that fail: answered 500 or dropped, or processed with the answer lost.")
@click.option("--lost-share", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Of the faults, the share processed before the connection drops (the client cannot tell).")
def emulator_command(host: str, port: int, seed: int, sizes: tuple[str, ...], username: str, today: dt.datetime | None,
                     latency_ms: float, jitter_ms: float, rate_limit: float | None, fault_rate: float,
                     lost_share: float) -> None:
    """Run a local ClickSend REST v3 emulator (for tests, demos and benchmarks)."""
    if not _is_loopback(host):
        click.echo(f"Warning: --host {host} is not a loopback address: other machines can reach the emulator, and "
                   "its demo API key is no secret. Keep it on 127.0.0.1 unless you mean to share it.", err=True)
    app = make_app(seed=seed, sizes=_parse_sizes(sizes), username=username, today=today.date() if today else utc_today(),
                   knobs=Knobs(latency_ms=latency_ms, jitter_ms=jitter_ms, rate_limit=rate_limit, fault_rate=fault_rate,
                               lost_share=lost_share))
    try:
        sock = bind(host, port)
    except OSError as err:
        raise click.ClickException(f"Cannot listen on {host}:{port}: {err.strerror}.") from None
    bound_host, bound_port = sock.getsockname()[:2]
    click.echo(f"base_url: http://{bound_host}:{bound_port}/v3")
    click.echo(f"username: {username}")
    click.echo(f"api_key:  {api_key_for(seed)}")
    click.echo("Press Ctrl-C to stop.", err=True)
    make_server(app).run(sockets=[sock])
