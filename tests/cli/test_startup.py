"""The CLI starts fast: importing it loads no database, engine, web or data library.

Every command module is imported at start-up (commands are discovered), so a heavy import at the
top of any of them slows down every `meshplane` call, e.g. `meshplane test` in CI loops.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "uvicorn",
    "duckdb",
    "pyarrow",
    "pyiceberg",
    "deltalake",
    "httpx",
    "sqlglot",
)


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = f"import sys, meshplane.cli.app\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"imported at CLI start-up: {loaded} (import them inside the command functions)"
