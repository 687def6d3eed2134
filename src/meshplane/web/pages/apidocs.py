"""``/docs``: the API reference, rendered on the server from the application's OpenAPI document.

Every path and method with its summary, description, authentication (the bearer token, the
ownership rule of ``x-meshplane-owner``), parameters, request body and responses, then every schema
the operations refer to — as plain HTML in the cockpit's layout, no script, a few dozen KB. Swagger
UI, the interactive (and much heavier) explorer, stays at ``/docs/explorer``. Both are public, as
``/openapi.json`` is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from meshplane.api.security import OWNER_EXTENSION
from meshplane.web.core import Html, View, get

METHODS = ("get", "post", "put", "patch", "delete")
Part = tuple[str, str | None]
"""A piece of a rendered type: its text and the schema it links to (None: plain text)."""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _limits(schema: Mapping[str, Any]) -> str:
    shown = []
    for key, label in (("minLength", "min length"), ("maxLength", "max length"), ("minimum", "≥"),
                       ("maximum", "≤"), ("pattern", "pattern"), ("format", "format")):  # fmt: skip
        if key in schema:
            shown.append(f"{label} {schema[key]}")
    return f" ({', '.join(shown)})" if shown else ""


def type_parts(schema: Any, depth: int = 0) -> list[Part]:
    """A JSON schema as a short type: ``string (max length 300)``, ``array of [Problem]``, ``A | null``."""
    if not isinstance(schema, Mapping) or depth > 4:
        return [("any", None)]
    if "$ref" in schema:
        name = _ref_name(str(schema["$ref"]))
        return [(name, name)]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list):
            out: list[Part] = []
            for i, option in enumerate(schema[key]):
                if i:
                    out.append((" & " if key == "allOf" else " | ", None))
                out += type_parts(option, depth + 1)
            return out
    if "enum" in schema:
        return [("one of " + ", ".join(str(v) for v in schema["enum"]), None)]
    if "const" in schema:
        return [(f"= {schema['const']}", None)]
    kind = schema.get("type", "object" if "properties" in schema else "any")
    if isinstance(kind, list):
        return [(" | ".join(str(k) for k in kind), None)]
    if kind == "array":
        return [("array of ", None), *type_parts(schema.get("items"), depth + 1)]
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping) and "properties" not in schema:
        return [("object of ", None), *type_parts(schema["additionalProperties"], depth + 1)]
    return [(f"{kind}{_limits(schema)}", None)]


def text_parts(text: Any) -> list[list[Part]]:
    """Paragraphs of a description, each split into plain text and `code` spans (a code span: link None, 'code')."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", str(text or "").strip()):
        if block:
            pieces = re.split(r"`([^`]*)`", " ".join(block.split()))
            paragraphs.append([(piece, "code" if i % 2 else None) for i, piece in enumerate(pieces) if piece])
    return paragraphs


def _content(content: Any) -> list[dict[str, Any]]:
    if not isinstance(content, Mapping):
        return []
    return [{"media": media, "type": type_parts((body or {}).get("schema"))} for media, body in content.items()]


def _auth(op: Mapping[str, Any], schemes: Mapping[str, Any]) -> dict[str, Any]:
    names = [name for requirement in op.get("security") or [] for name in requirement]
    owner = op.get(OWNER_EXTENSION)
    return {
        "schemes": [
            {"name": name, "description": text_parts((schemes.get(name) or {}).get("description"))} for name in names
        ],
        "owner": owner if isinstance(owner, Mapping) else None,
    }


def _operation(path: str, method: str, op: Mapping[str, Any], schemes: Mapping[str, Any]) -> dict[str, Any]:
    parameters = [
        {
            "name": p.get("name"),
            "in": p.get("in"),
            "required": bool(p.get("required")),
            "type": type_parts(p.get("schema")),
            "default": (p.get("schema") or {}).get("default"),
            "description": p.get("description") or (p.get("schema") or {}).get("description") or "",
        }
        for p in op.get("parameters") or []
        if isinstance(p, Mapping)
    ]
    body = op.get("requestBody")
    responses = op.get("responses") or {}
    return {
        "anchor": re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-"),
        "method": method.upper(),
        "path": path,
        "summary": op.get("summary") or "",
        "description": text_parts(op.get("description")),
        "auth": _auth(op, schemes),
        "parameters": parameters,
        "body": {"required": bool(body.get("required")), "content": _content(body.get("content"))}
        if isinstance(body, Mapping)
        else None,
        "responses": [
            {
                "status": status,
                "description": (r or {}).get("description") or "",
                "content": _content((r or {}).get("content")),
            }
            for status, r in responses.items()
        ],
    }


def _schema(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    required = set(schema.get("required") or [])
    found = schema.get("properties")
    properties: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    return {
        "name": name,
        "description": text_parts(schema.get("description")),
        "type": type_parts({k: v for k, v in schema.items() if k != "properties"}),
        "properties": [
            {
                "name": prop,
                "type": type_parts(value),
                "required": prop in required,
                "description": (value or {}).get("description") or "",
            }
            for prop, value in properties.items()
        ],
    }


def reference(document: Mapping[str, Any]) -> dict[str, Any]:
    """The page's values from an OpenAPI document: info, operations grouped by tag, schemas."""
    components = document.get("components") or {}
    schemes = components.get("securitySchemes") or {}
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in (document.get("paths") or {}).items():
        for method in METHODS:
            op = item.get(method) if isinstance(item, Mapping) else None
            if isinstance(op, Mapping):
                tag = (op.get("tags") or ["other"])[0]
                groups.setdefault(str(tag), []).append(_operation(path, method, op, schemes))
    info = document.get("info") or {}
    return {
        "info": {"title": info.get("title", ""), "version": info.get("version", "")},
        "intro": text_parts(info.get("description")),
        "openapi": document.get("openapi", ""),
        "groups": sorted(groups.items()),
        "schemes": [
            {"name": n, "scheme": s.get("scheme") or s.get("type"), "description": text_parts(s.get("description"))}
            for n, s in schemes.items()
        ],
        "schemas": [_schema(n, s) for n, s in sorted((components.get("schemas") or {}).items())],
    }


def api_reference(view: View) -> Html:
    """The reference of the application's API (public, as ``/openapi.json``)."""
    return Html("apidocs.html", {"title": "API reference"} | reference(view.request.app.openapi()))


routes = [get("/docs", api_reference, public=True)]
