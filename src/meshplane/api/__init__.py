"""The meshplane REST API (FastAPI): catalog, contracts, test runs, usage agreements, apply, tokens.

Public names are listed here; `create_app` builds the application, `security` holds what a new
route module needs to declare its writes.
"""

from __future__ import annotations

from meshplane.api.app import create_app
from meshplane.api.security import Ownership, read_access, write_access, writes

__all__ = ["Ownership", "create_app", "read_access", "write_access", "writes"]
