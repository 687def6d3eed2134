"""Shared pydantic base for the standard's documents.

Field names are snake_case in Python and camelCase in files (the standards' spelling). Keys the
standard does not define are errors, except where the standard itself leaves an object open:
servers (`OPEN`), and every object of a document whose version's schema leaves its objects open
(ODCS v3.0.x: `team[].comment`). The loader says so in the validation context
(``{UNKNOWN_FIELDS: True}``); such fields are kept (``model_extra``) and dumped back. Types are
judged by the official JSON Schema before a model is built, so the model only normalises what the
schema already accepted (JSON Schema counts `1.0` as an integer, for instance).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

UNKNOWN_FIELDS = "unknown_fields"
"""Validation context key: True when the document's schema admits fields the model does not name."""


class SpecModel(BaseModel):
    """Base of every model read from a mesh file."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        alias_generator=to_camel,
        strict=False,
        validate_default=False,
        defer_build=True,
    )
    OPEN: ClassVar[bool] = False
    """True for objects the standard leaves open in every version (servers' type-specific fields)."""

    @model_validator(mode="after")
    def _known_fields_only(self, info: ValidationInfo) -> SpecModel:
        extra = self.model_extra
        if extra and not self.OPEN and not (info.context or {}).get(UNKNOWN_FIELDS):
            names = ", ".join(f"'{name}'" for name in extra)
            raise PydanticCustomError("unknown_field", "unknown field(s) {names}", {"names": names})
        return self

    def to_document(self) -> dict[str, Any]:
        """The model as the standard's document (camelCase keys, only what was set)."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class CustomProperty(SpecModel):
    """A key/value pair for properties the standard does not define."""

    id: str | None = None
    property: str
    value: Any = None
    description: str | None = None
    vendor: str | None = None
    """The tool or vendor the property belongs to (ODCS v3.2.0)."""


class AuthoritativeDefinition(SpecModel):
    """A link to a source that defines or documents the element."""

    id: str | None = None
    type: str
    url: str
    description: str | None = None


JsonScalar = str | int | float | bool | None

__all__ = ["UNKNOWN_FIELDS", "AuthoritativeDefinition", "CustomProperty", "Field", "JsonScalar", "SpecModel"]
