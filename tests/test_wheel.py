"""The built wheel carries the whole catalog and loads it without the source checkout."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

from clicksend_sql.catalog import load_catalog

REPO = Path(__file__).resolve().parents[1]
CHECK = """
import json, clicksend_sql
from clicksend_sql.catalog import catalog_dirs, load_catalog
catalog = load_catalog()
print(json.dumps({
    "file": clicksend_sql.__file__,
    "schema_dir": str(catalog_dirs()[0]),
    "tables": sorted(t.name for t in catalog.tables.values()),
    "procedures": sorted(p.name for p in catalog.procedures.values()),
}))
"""


def run(*args: str | Path, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_wheel_installs_and_loads_every_table_and_procedure(tmp_path: Path) -> None:
    # No build isolation: hatchling is already installed and the test must not need the network.
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "dist", REPO,
        cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("clicksend_sql-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # The dependencies come from the environment running the tests (a venv or the system site),
    # appended after the new venv's own site-packages so that the wheel's copy wins.
    inner_site = Path(run(python, "-c", "import site; print(site.getsitepackages()[0])", cwd=tmp_path).strip())
    outer = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (inner_site / "_outer_environment.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in outer), encoding="utf-8"
    )
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel, cwd=tmp_path)

    found = json.loads(run(python, "-c", CHECK, cwd=tmp_path))

    assert Path(found["file"]).is_relative_to(env_dir), f"imported the checkout, not the wheel: {found['file']}"
    assert Path(found["schema_dir"]).is_relative_to(env_dir)
    source = load_catalog()
    assert found["tables"] == sorted(t.name for t in source.tables.values())
    assert found["procedures"] == sorted(p.name for p in source.procedures.values())
