"""``clicksend-sql serve``: the command-line face of :class:`~clicksend_sql.pgwire.Server`."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ..cli import reported, statement_options
from ..errors import ConfigurationError

PASSWORD_VARIABLE = "CLICKSEND_SQL_PASSWORD"


def server_password() -> str:
    """The password clients log in with: from the environment, else asked at a terminal; never
    from the command line (where other users' ``ps`` would read it), never the API key."""
    password = os.environ.get(PASSWORD_VARIABLE, "")
    if password:
        return password
    if sys.stdin.isatty():
        return str(click.prompt("Password clients log in with", hide_input=True, confirmation_prompt=True, err=True))
    raise ConfigurationError(f"Set {PASSWORD_VARIABLE} to the password PostgreSQL clients log in with "
                             "(it is not your ClickSend API key).")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback unless --allow-remote).")
@click.option("--port", type=click.IntRange(0, 65535), default=5433, show_default=True, help="Port to listen on.")
@click.option("--database", type=click.Path(dir_okay=False),
              help="DuckDB file whose tables clients see beside the ClickSend tables [default: in memory].")
@click.option("--allow-remote", is_flag=True,
              help="Allow a --host beyond loopback (the protocol runs without TLS: only on a network you trust).")
@statement_options
def serve_command(host: str, port: int, database: str | None, allow_remote: bool, **options: Any) -> None:
    """Serve the account over the PostgreSQL protocol, for psql, drivers and BI tools, until Ctrl-C.

    Clients log in with any user name and the password in CLICKSEND_SQL_PASSWORD (asked for at a
    terminal when unset); e.g. psql "host=127.0.0.1 port=5433 user=clicksend dbname=clicksend".
    """
    from rich.console import Console

    from ..connection import connect
    from .server import Server

    err = Console(stderr=True)
    with reported(err):
        password = server_password()
        if database:
            options["database"] = database
        with connect(**options) as con:
            server = Server(con, password, host=host, port=port, allow_remote=allow_remote).start()
            err.print(f"Serving PostgreSQL clients on {host}:{server.port}; Ctrl-C stops. Connect with:\n"
                      f'  psql "host={host} port={server.port} user=clicksend dbname=clicksend"', highlight=False)
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                err.print("Stopped.", highlight=False)
