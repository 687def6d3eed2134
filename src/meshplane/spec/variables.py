"""Variable references of ODCS v3.2.0 (RFC 0050): ``${NAME}`` and ``${NAME:-default}`` in string values.

A contract may leave a value to the place it runs in: ``host: ${DB_HOST}``, ``database:
${DB_NAME:-orders}``, ``SELECT COUNT(*) FROM ${TARGET_TABLE}``. ``${NAME}`` is the variable's value;
``${NAME:-default}`` is the default when the variable is unset or empty (the POSIX form). Names are
letters, digits and ``_``, not starting with a digit. meshplane resolves them where the contract is
run: a contract test's server settings and SQL rules (`meshplane.service.testing`); where the values
come from is the caller's choice (the shell of `meshplane test`, an allow-list in the worker).

Only documents of ODCS v3.2.0 and later have variables (`has_variables`), and meshplane's own settings
(``MESHPLANE_*``) are never one (`from_environment`): a contract cannot have a test print the registry's
URL or the caller's token.

meshplane's own SQL placeholders (``${object}``, ``${table}``, ``${model}``, ``${column}``,
``${property}``; `meshplane.checks.sqltext`) are replaced first, so those five names are never read
as variables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping

from meshplane.spec.versions import parse_version

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^${}]*))?\}")
"""``${NAME}`` or ``${NAME:-default}`` (a default holds no ``$``, ``{`` or ``}``: no nesting, and a scan for
the closing brace stops at the next reference, so reading a text is linear in its length)."""

OWN_PREFIX = "MESHPLANE_"
"""meshplane's own settings (the registry's URL, tokens...) are never variables: not in a contract, not in
a notification address, whatever the environment or an allow-list says."""

FIRST_VERSION = (3, 2)
"""The ODCS version that introduced variables: a v3.0 or v3.1 document's ``${...}`` is text."""


def from_environment(environ: Mapping[str, str], names: Iterable[str] | None = None) -> dict[str, str]:
    """The variables `environ` offers: every entry, or only those in `names`; never meshplane's own settings."""
    wanted = environ.keys() if names is None else [name for name in names if name in environ]
    return {name: environ[name] for name in wanted if not name.upper().startswith(OWN_PREFIX)}


def has_variables(api_version: str) -> bool:
    """Whether a document of this ``apiVersion`` (``v3.2.0``...) may hold variable references."""
    version = parse_version(api_version, partial=True)
    return version is not None and (version.major, version.minor) >= FIRST_VERSION


class UnsetVariables(ValueError):
    """References to variables that have no value and no default."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        listed = ", ".join(f"${{{name}}}" for name in names)
        super().__init__(f"variable(s) {listed} not set (ODCS v3.2.0 variables: give a value or a ${{NAME:-default}})")


def malformed(text: str) -> list[str]:
    """The ``${`` of `text` that start no reference (``${}``, ``${1A}``, ``${A-x}``, an unclosed one), each
    shown up to its closing brace (at most 40 characters), in order."""
    found: list[str] = []
    start = text.find("${")
    while start >= 0:
        if not REFERENCE.match(text, start):
            end = text.find("}", start, start + 40)
            shown = text[start : end + 1] if end >= 0 else text[start : start + 40] + "…"
            found.append(shown)
        start = text.find("${", start + 2)
    return found


def check_references(text: str) -> None:
    """Raise `MalformedReference` when `text` has a ``${`` that starts no variable reference."""
    if bad := malformed(text):
        raise MalformedReference(bad)


class MalformedReference(ValueError):
    """A ``${`` that is not a variable reference of ODCS v3.2.0."""

    def __init__(self, fragments: list[str]) -> None:
        self.fragments = fragments
        listed = ", ".join(f"'{fragment}'" for fragment in fragments[:3])
        super().__init__(
            f"malformed variable reference {listed} (ODCS v3.2.0: ${{NAME}} or ${{NAME:-default}}, NAME of "
            "letters, digits and _ not starting with a digit; a default holds no $, { or })"
        )


def unresolved(text: str, values: Mapping[str, str], keep: Collection[str] = ()) -> list[str]:
    """Names referenced in `text` that have neither a value in `values` nor a default (`keep`: names that are
    not variables), in order, once each."""
    found: dict[str, None] = {}
    for match in REFERENCE.finditer(text):
        name, default = match.group(1), match.group(2)
        if default is None and name not in values and name not in keep:
            found[name] = None
    return list(found)


def expand(
    text: str, values: Mapping[str, str], *, unset: Callable[[str], str] | None = None, keep: Collection[str] = ()
) -> str:
    """`text` with every reference replaced: its value, else its default (also for an empty value), else
    ``unset(name)``; without `unset`, a reference with neither raises `UnsetVariables` naming them all.
    References to the names in `keep` stay as written. A ``${`` that starts no reference raises
    `MalformedReference`."""
    check_references(text)
    missing = [] if unset is not None else unresolved(text, values, keep)
    if missing:
        raise UnsetVariables(missing)

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in keep:
            return match.group(0)
        given = values.get(name)
        if default is not None and not given:
            return default
        if given is not None:
            return given
        assert unset is not None  # checked above
        return unset(name)

    return REFERENCE.sub(value, text)


__all__ = [
    "FIRST_VERSION",
    "OWN_PREFIX",
    "REFERENCE",
    "MalformedReference",
    "UnsetVariables",
    "check_references",
    "expand",
    "from_environment",
    "has_variables",
    "malformed",
    "unresolved",
]
