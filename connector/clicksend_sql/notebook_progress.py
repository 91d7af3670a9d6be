"""A scan's progress in a notebook: an HTML bar in the cell's output, updated in place.

A terminal line (the CLI's rich display) is garbled in a notebook, and rich's or tqdm's notebook
front-ends need ipywidgets; IPython's own ``display(..., display_id=True)`` updates one output in
place with nothing else installed, in Jupyter, VS Code and nbclient alike. Connections opened in
a notebook use it unless given ``progress=``.

>>> bar = NotebookProgress(show=lambda html: None)
>>> bar.statement_started()
>>> from clicksend_sql.execution import Progress
>>> bar(Progress("SMSHistory", pages=3, rows=300, expected_rows=1200))
>>> "300 of 1,200 rows" in bar.html()
True
"""

from __future__ import annotations

import html
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from .execution import Progress
from .output import PROGRESS_AFTER_SECONDS  # a quick statement shows no bar at all

UPDATES_PER_SECOND = 5.0


def in_notebook() -> bool:
    """Whether this process is a notebook's kernel (not a terminal IPython); a kernel has imported
    IPython already, so a script pays no import for asking."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class NotebookProgress:
    """Rows (of how many, once the first page said), pages and time left per table, for one
    statement at a time; the connection calls :meth:`statement_started` and :meth:`statement_done`."""

    def __init__(self, show: Callable[[str], Any] | None = None) -> None:
        """``show(html)``: put the first version on screen and return a handle whose ``update(html)``
        replaces it (IPython's display by default)."""
        self._show = show or _ipython_display
        self._handle: Any = None
        self._scans: dict[int, Progress] = {}
        self._started = self._shown = time.monotonic()

    def statement_started(self) -> None:
        self._handle, self._scans = None, {}
        self._started = self._shown = time.monotonic()

    def __call__(self, progress: Progress) -> None:
        self._scans[id(progress)] = progress
        now = time.monotonic()
        if now - self._started < PROGRESS_AFTER_SECONDS or now - self._shown < 1 / UPDATES_PER_SECOND:
            return
        self._shown = now
        self._render()

    def statement_done(self) -> None:
        """The last figures, without a time left (only when a bar was shown)."""
        if self._handle is not None:
            self._render(done=True)

    def _render(self, *, done: bool = False) -> None:
        text = self.html(done=done)
        if self._handle is None:
            self._handle = self._show(text)
        elif hasattr(self._handle, "update"):
            self._handle.update(_HTML(text))

    def html(self, *, done: bool = False) -> str:
        elapsed = time.monotonic() - self._started
        lines = [_line(p, elapsed, done) for p in self._scans.values()]
        return "<div class='clicksend-sql-progress'>" + "".join(lines) + "</div>"


def _line(progress: Progress, elapsed: float, done: bool) -> str:
    """One table: a bar (or a running count when the total is unknown), rows, pages, time left.

    >>> _line(Progress("Contacts", pages=2, rows=200, expected_rows=400), 2.0, False)
    "<div><progress value='200' max='400'></progress> Contacts: 200 of 400 rows, 2 pages, about 2 s left</div>"
    """
    total = progress.expected_rows
    bar = f"<progress value='{progress.rows}' max='{total}'></progress> " if total else ""
    rows = f"{progress.rows:,} of {total:,} rows" if total else f"{progress.rows:,} rows"
    tail = f", {elapsed:.1f} s" if done else ""
    if not done and total and progress.rows:
        tail = f", about {max(0.0, (total - progress.rows) * elapsed / progress.rows):.0f} s left"
    pages = f"{progress.pages:,} page{'s' if progress.pages != 1 else ''}"
    return f"<div>{bar}{html.escape(progress.table)}: {rows}, {pages}{tail}</div>"


class _HTML:
    """HTML for IPython's display, with the words as its plain text: IPython's own ``HTML`` class
    shows ``<IPython.core.display.HTML object>`` to front-ends and logs that take text only."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return re.sub(r"<[^>]+>", " ", self.text).strip()


def _ipython_display(text: str) -> Any:
    from IPython.display import display

    return display(_HTML(text), display_id=True)
