"""The operations of an OpenAPI document, found by method and concrete request path.

One matcher for the two places that ask the document what a path serves: the request guard (which
role a write needs, from the operation's ``x-meshplane-owner``) and the 405 answer (its ``Allow``
header). Paths are tried as Starlette routes are: literal paths before templated ones, and a
request is served by the first path that has its method (``PUT /products/search`` is served by
``/products/{id}`` when ``/products/search`` only has ``GET``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})
"""The keys of an OpenAPI path item that are operations (the others are `parameters`, `summary`...)."""


def template_pattern(template: str) -> re.Pattern[str]:
    """The regular expression of an OpenAPI path template (a ``{name}`` matches one path segment)."""
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts))


class OperationIndex:
    """An OpenAPI document's operations by path: literal paths in a dict, templated ones in order."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._literal: dict[str, dict[str, dict[str, Any]]] = {}
        self._templated: list[tuple[re.Pattern[str], dict[str, dict[str, Any]]]] = []
        for path, item in sorted(document.get("paths", {}).items(), key=lambda entry: entry[0].count("{")):
            operations = {m.upper(): op for m, op in item.items() if m.upper() in HTTP_METHODS and isinstance(op, dict)}
            if "{" in path:
                self._templated.append((template_pattern(path), operations))
            else:
                self._literal[path] = operations

    def _matching(self, path: str) -> Iterator[dict[str, dict[str, Any]]]:
        literal = self._literal.get(path)
        if literal is not None:
            yield literal
        yield from (operations for pattern, operations in self._templated if pattern.fullmatch(path))

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        """The operation serving `method` on `path`, or None when the document has none."""
        return next((ops[method] for ops in self._matching(path) if method in ops), None)

    def methods(self, path: str) -> list[str] | None:
        """Every method some operation serves on `path` (sorted), or None when no documented path matches."""
        found = list(self._matching(path))
        return sorted({method for operations in found for method in operations}) if found else None


__all__ = ["HTTP_METHODS", "OperationIndex", "template_pattern"]
