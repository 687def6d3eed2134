"""The errors of a refused request, which the API maps to HTTP statuses and the CLI to exit codes.

They sit at the bottom of the package layers (beside `meshplane.diagnostics`, whose `MeshplaneError`
they extend) so that every layer raises them and the API and CLI catch them without importing the
registry. The caller's identity and roles, which decide `AccessDenied`, are in `meshplane.access`.
"""

from __future__ import annotations

from meshplane.diagnostics import MeshplaneError


class AccessDenied(MeshplaneError):
    """The caller may not do this: 401 when not authenticated, else 403."""

    def __init__(self, message: str, *, authenticated: bool = True) -> None:
        super().__init__(message, exit_code=2)
        self.authenticated = authenticated


class NotFound(MeshplaneError):
    """What the request names does not exist (404)."""


class Conflict(MeshplaneError):
    """The request is valid but clashes with the current state (409)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=1)


class RegistryUnavailable(MeshplaneError):
    """The registry cannot do what was asked (read-only, full): 503 in the API, exit 1 in the CLI."""

    def __init__(self, message: str, *, public: str = "the registry is unavailable") -> None:
        super().__init__(message, exit_code=1)
        self.public = public
        """What an API caller is told (`message` names the registry's location: for the CLI and the log)."""


__all__ = ["AccessDenied", "Conflict", "MeshplaneError", "NotFound", "RegistryUnavailable"]
