"""Making a registry read-only for a test, also as root (the API and CLI read-only tests share it)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """chmod 0444 the files (0555 the folders); as root, whom modes do not stop, `chattr +i` too."""
    modes = {path: path.stat().st_mode for path in paths}
    immutable: list[Path] = []
    try:
        for path in paths:
            path.chmod(0o555 if path.is_dir() else 0o444)
        if os.geteuid() == 0:
            for path in paths:
                if (
                    shutil.which("chattr") is None
                    or subprocess.run(["chattr", "+i", str(path)], check=False).returncode
                ):
                    pytest.skip("running as root, where only `chattr +i` makes a file read-only, and it failed")
                immutable.append(path)
        yield
    finally:
        for path in immutable:
            subprocess.run(["chattr", "-i", str(path)], check=False)
        for path, mode in modes.items():
            path.chmod(mode)


__all__ = ["read_only"]
