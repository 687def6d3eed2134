"""meshplane: a control plane for a data mesh on a data lake."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
