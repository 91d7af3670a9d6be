"""examples/quickstart.ipynb, executed as Jupyter would (nbclient, a real kernel): every cell runs
without an error and renders what a reader expects: tables with a row count, a chart, a dry run's
requests, JupySQL's ``%sql`` through the clicksend:// dialect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def cells() -> list[Any]:
    notebook = nbformat.read(EXAMPLES / "quickstart.ipynb", as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _outputs(cell: Any, kind: str) -> str:
    return "".join(str(o.get("data", {}).get(kind, "")) + str(o.get("text", "")) for o in cell.outputs)


def _result(cell: Any) -> str:
    """The HTML of the cell's value; a statement slower than half a second (a loaded machine) also
    leaves its progress bar, a display of its own, above it."""
    return "".join(o["data"]["text/html"] for o in cell.outputs if o.output_type == "execute_result")


def _cell(cells: list[Any], text: str) -> Any:
    return next(cell for cell in cells if text in cell.source)


def test_a_query_renders_as_a_table_with_its_row_count(cells: list[Any]) -> None:
    html = _result(_cell(cells, "GROUP BY Status"))
    assert html.startswith("<table>") and "<th>Status</th>" in html and "Completed" in html
    assert html.endswith(" rows</p>")


def test_the_join_with_a_local_csv_finds_the_vips_of_the_list(cells: list[Any]) -> None:
    html = _result(_cell(cells, "JOIN 'vip.csv'"))
    assert html.count("<tr>") == 1 + 3 and "<p>3 rows</p>" in html  # someone.new@ is not a contact
    assert "gold" in html and "silver" in html


def test_the_chart_is_drawn(cells: list[Any]) -> None:
    cell = _cell(cells, "weekly.plot")
    assert any("image/png" in o.get("data", {}) for o in cell.outputs)


def test_the_dry_run_upsert_shows_its_requests(cells: list[Any]) -> None:
    html = _result(_cell(cells, "ON CONFLICT (Email)"))
    assert "<th>request</th>" in html and "POST" in html and "PUT" in html


def test_jupysql_runs_sql_through_the_dialect(cells: list[Any]) -> None:
    text = _outputs(_cell(cells, "%%sql"), "text/plain")
    assert "Customers 2020" in text and "ContactsCount" in text
    assert "isn't installed" not in _outputs(_cell(cells, "%load_ext sql"), "text/plain")
