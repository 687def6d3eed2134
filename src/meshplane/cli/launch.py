"""The `meshplane` console script and `python -m meshplane`: the CLI with a quick start.

The cyclic garbage collector is paused before the CLI's modules are imported and resumes when
`meshplane.cli.app.start_up` ends (before any command runs): start-up only creates long-lived
objects, and collecting while importing them is wasted work.
"""

from __future__ import annotations

import gc


def main() -> None:
    """Run the CLI."""
    gc.disable()
    from meshplane.cli.app import main as run_cli

    run_cli()
