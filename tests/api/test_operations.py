"""The OpenAPI operation index shared by the request guard and the 405 answer."""

from __future__ import annotations

import pytest

from meshplane.api.operations import OperationIndex, template_pattern

DOCUMENT = {
    "paths": {
        "/api/v1/things/{thing_id}": {
            "parameters": [{"name": "thing_id", "in": "path"}],
            "get": {"operationId": "get-thing"},
            "put": {"operationId": "put-thing"},
        },
        "/api/v1/things/search": {"get": {"operationId": "search"}},
        "/api/v1/things/{thing_id}/parts/{part}": {"delete": {"operationId": "drop-part"}},
        "/api/v1/things": {"post": {"operationId": "add-thing"}, "summary": "not an operation"},
    }
}


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/v1/things/search", "search"),  # the literal path first
        ("PUT", "/api/v1/things/search", "put-thing"),  # ... then the template that has the method
        ("GET", "/api/v1/things/t1", "get-thing"),
        ("DELETE", "/api/v1/things/t1/parts/p2", "drop-part"),
        ("POST", "/api/v1/things", "add-thing"),
        ("DELETE", "/api/v1/things/t1", None),  # the path is documented, the method is not
        ("GET", "/api/v1/things/t1/parts", None),  # a segment short
        ("GET", "/api/v1/things/a/b", None),  # `{thing_id}` is one segment
        ("GET", "/elsewhere", None),
    ],
)
def test_operation_of_a_request(method: str, path: str, expected: str | None) -> None:
    found = OperationIndex(DOCUMENT).operation(method, path)
    assert (found or {}).get("operationId") == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/things/search", ["GET", "PUT"]),  # every route the path reaches
        ("/api/v1/things/t1", ["GET", "PUT"]),
        ("/api/v1/things", ["POST"]),  # `summary` is not a method
        ("/api/v1/nothing", None),
    ],
)
def test_methods_served_on_a_path(path: str, expected: list[str] | None) -> None:
    assert OperationIndex(DOCUMENT).methods(path) == expected


@pytest.mark.parametrize(
    ("template", "path", "matches"),
    [
        ("/a/{x}", "/a/1", True),
        ("/a/{x}", "/a/1/2", False),
        ("/a/{x}/b", "/a/1/b", True),
        ("/a.b/{x}", "/aXb/1", False),  # the literal part is escaped
    ],
)
def test_template_pattern(template: str, path: str, matches: bool) -> None:
    assert bool(template_pattern(template).fullmatch(path)) is matches
