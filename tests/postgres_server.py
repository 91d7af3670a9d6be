"""A throwaway PostgreSQL server for tests, started by the tests themselves through ``pgserver``.

Replication loads through dlt into PostgreSQL, and a mock cannot tell whether a merge really lands,
so the tests run a real server: ``pgserver`` ships PostgreSQL in a wheel, nothing to install.

Each process that asks gets a server of its own (one per pytest-xdist worker), in a temp folder of
its own and listening only on a Unix socket in that folder: two servers never share a port, a data
dir or a lock beyond pgserver's own start-up lock. What pgserver needs, and this module arranges:

- As root, pgserver runs PostgreSQL as a system user ``pgserver`` (created with useradd on first
  use) and widens (g+rx, o+rx) every folder above the data dir and above its own binaries so that
  user can reach them. The data dir therefore lives in a folder of its own under the temp dir
  (mode 0755), never under a home.
- A Unix socket path is limited to 103-107 bytes and PostgreSQL puts its socket in the data dir.
  pgserver's fallback (its runtime folder) also lives under $TMPDIR when XDG_RUNTIME_DIR is unset,
  so a deep $TMPDIR failed both; then the folder goes in /tmp instead. The URI is built from
  wherever the socket really is.
- A run killed before its teardown (SIGKILL, a crashed xdist worker) leaves a server running; the
  next start stops and removes such servers, found by the pid of the process that made them.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    import pgserver

PREFIX = "clicksend-sql-pg-"
OWNER = "owner.pid"
# <base>/clicksend-sql-pg-xxxxxxxx/data/.s.PGSQL.5432 within sun_path (104 bytes on macOS, NUL included)
SOCKET_PATH_MAX = 103


class LocalPostgres:
    """A running server: ``uri`` for dlt and psycopg2 (libpq); ``stop()`` ends it and removes its folder."""

    def __init__(self, server: pgserver.PostgresServer, root: Path, started_in: float) -> None:
        self._server: pgserver.PostgresServer | None = server
        self.root = root
        self.started_in = started_in  # seconds from the call to a server accepting connections
        info = server.get_postmaster_info()
        if info.socket_dir is not None:
            # libpq and dlt both read a percent-encoded host that starts with / as the socket's folder
            host = quote(str(info.socket_dir), safe="")
        else:  # Windows: pgserver listens on TCP there
            host = str(info.hostname)
        # Authentication is 'trust': the password is never checked, but dlt's credentials want one.
        self.uri = f"postgresql://postgres:any@{host}:{info.port}/postgres"

    def stop(self) -> None:
        """Stop the server (pg_ctl stop, fast mode) and remove its folder; a second call does nothing."""
        server, self._server = self._server, None
        if server is not None:
            try:
                server.cleanup()  # cleanup_mode="delete": stops the server, removes the data dir
            finally:
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_postgres() -> LocalPostgres:
    """Start a PostgreSQL server of this process's own in a fresh temp folder (initdb included)."""
    began = time.perf_counter()
    remove_abandoned_servers()
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset; pgserver's start-up lock then
        # lives in $TMPDIR/runtime-<uid>
        warnings.simplefilter("ignore")
        import pgserver
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base_dir()))
    (root / OWNER).write_text(str(os.getpid()), encoding="ascii")
    root.chmod(0o755)  # mkdtemp makes it 0700; as root the server's user must traverse it
    # A failed start leaves the folder (its log says why); the next run's start removes it.
    server = pgserver.get_server(root / "data", cleanup_mode="delete")
    return LocalPostgres(server, root, time.perf_counter() - began)


def base_dir() -> Path:
    """The temp dir, or /tmp when a socket in a data dir under the temp dir would be too long."""
    temp = Path(tempfile.gettempdir()).resolve()
    socket = temp / f"{PREFIX}xxxxxxxx" / "data" / ".s.PGSQL.5432"
    if os.name == "nt" or len(os.fsencode(socket)) <= SOCKET_PATH_MAX or not Path("/tmp").is_dir():
        return temp
    return Path("/tmp")


def remove_abandoned_servers() -> None:
    """Stop and remove the servers of earlier runs whose test process died without stopping them.

    Only folders this module made (``PREFIX`` in the temp dir, with an owner pid that no longer
    runs) are touched; a folder without its owner file is being made right now and is left alone.
    """
    import psutil  # pgserver's dependency

    for root in base_dir().glob(f"{PREFIX}*"):
        try:
            owner = int((root / OWNER).read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue
        if psutil.pid_exists(owner):
            continue
        data = (root / "data").resolve()  # the -D argument pgserver gave PostgreSQL is resolved
        try:
            postmaster = int((data / "postmaster.pid").read_text(encoding="ascii").split()[0])
            process = psutil.Process(postmaster)
            if str(data) in process.cmdline():
                process.send_signal(getattr(signal, "SIGQUIT", signal.SIGTERM))  # SIGQUIT: immediate shutdown
                process.wait(5)
        except (OSError, ValueError, IndexError, psutil.Error):
            pass  # no postmaster.pid, or that server is gone already
        shutil.rmtree(root, ignore_errors=True)
