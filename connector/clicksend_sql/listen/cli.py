"""``clicksend-sql listen``: the command-line face of :meth:`Connection.listen`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..cli import connection_for, reported, statement_options
from ..config import Settings, account_key
from ..output import ProgressDisplay
from .events import MATCH_TYPES
from .listener import BatchError


def default_state(settings: Settings) -> Path:
    """Where a listener without ``--database`` keeps its state: one file per account (no secret in its name)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("clicksend-sql")) / f"listen-{account_key(settings)}.duckdb"


@click.command("listen")
@click.option("--sql", "statement", required=True,
              help="The statement run over each batch, which it reads as the table inbound (or receipts).")
@click.option("--database", type=click.Path(dir_okay=False),
              help="DuckDB file the statement runs in (your tables live there); it also keeps where listening got to.")
@click.option("--state", type=click.Path(dir_okay=False),
              help="DuckDB file keeping where listening got to [default: --database, else one per account in the user "
                   "state directory].")
@click.option("--receipts", is_flag=True, help="Listen to SMS delivery receipts (table receipts) instead of inbound SMS.")
@click.option("--public-url", help="Webhook mode: the public URL that reaches --host:--port (a tunnel or proxy). "
                                   "Without it, poll mode.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Webhook mode: the address the receiver listens on.")
@click.option("--port", type=int, default=8787, show_default=True, help="Webhook mode: the receiver's port.")
@click.option("--number", default="*", show_default=True, help="Only messages to this dedicated number (* for all).")
@click.option("--match", type=click.Choice(list(MATCH_TYPES)), default="any", show_default=True,
              help="How the body must relate to --term.")
@click.option("--term", default="", help="The search term of --match.")
@click.option("--backlog", is_flag=True, help="Also process unread messages from before the first start.")
@click.option("--interval", type=click.FloatRange(0.1), default=2.0, show_default=True,
              help="Poll mode: seconds between polls (and the first retry delay after a failure).")
@statement_options
def listen_command(statement: str, database: str | None, state: str | None, receipts: bool, public_url: str | None,
                   host: str, port: int, number: str, match: str, term: str, backlog: bool, interval: float,
                   **options: Any) -> None:
    """Run SQL over each batch of new inbound SMS (or --receipts) as they arrive, until Ctrl-C.

    Only messages arriving after the first start are processed (--backlog for earlier unread
    ones). Processing is at least once: make the statement idempotent (INSERT OR IGNORE into a
    keyed table; for replies, ON CONFLICT (CustomString) DO NOTHING with a CustomString taken from
    the inbound MessageId).
    """
    from rich.console import Console

    err = Console(stderr=True)

    def said(error: BatchError) -> None:
        err.print(f"error ({len(error.ids)} messages, retried with backoff): {error.error}", highlight=False)

    with reported(err):
        if database:
            options["database"] = database
        with connection_for(options, ProgressDisplay(err)) as con:
            # with --database the state lives in it, through this connection (not a second handle on the file)
            where = state or (None if database else str(default_state(con.settings)))
            if where is not None:
                Path(where).parent.mkdir(parents=True, exist_ok=True)
            listener = con.listen(statement, receipts=receipts, state=where, public_url=public_url, host=host,
                                  port=port, number=number, match=match, term=term, backlog=backlog,
                                  interval=interval, on_error=said,
                                  on_batch=lambda b: err.print(f"{b.num_rows} message(s) processed", highlight=False))
            mode = f"webhooks at {public_url} (receiver on {host}:{port})" if public_url else f"polling every {interval:g} s"
            with listener:
                err.print(f"Listening for {'delivery receipts' if receipts else 'inbound SMS'}, {mode}; Ctrl-C stops.",
                          highlight=False)
                listener.wait()
            err.print(f"Stopped: {listener.stats.processed} message(s) processed.", highlight=False)
