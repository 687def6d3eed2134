"""Shared pydantic base for the standard's documents.

Field names are snake_case in Python and camelCase in files (the standards' spelling). Keys the
standard does not define are errors (except where the standard itself leaves an object open, e.g.
servers). Types are judged by the official JSON Schema before a model is built, so the model only
normalises what the schema already accepted (JSON Schema counts `1.0` as an integer, for instance).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class SpecModel(BaseModel):
    """Base of every model read from a mesh file."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
        strict=False,
        validate_default=False,
    )

    def to_document(self) -> dict[str, Any]:
        """The model as the standard's document (camelCase keys, only what was set)."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class CustomProperty(SpecModel):
    """A key/value pair for properties the standard does not define."""

    id: str | None = None
    property: str
    value: Any = None
    description: str | None = None


class AuthoritativeDefinition(SpecModel):
    """A link to a source that defines or documents the element."""

    id: str | None = None
    type: str
    url: str
    description: str | None = None


JsonScalar = str | int | float | bool | None

__all__ = ["AuthoritativeDefinition", "CustomProperty", "Field", "JsonScalar", "SpecModel"]
