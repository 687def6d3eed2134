"""Lint errors of a domain's notification targets (domain.yaml ``notifications``).

A webhook URL that is not http(s), an apprise URL whose scheme apprise does not know, and two
targets of one name are errors naming the file and the line (`meshplane lint`, and so `plan` and
`apply`). The same readers decide at delivery time (`meshplane.service.notify`).
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

from meshplane.diagnostics import Diagnostic, Severity
from meshplane.spec.loader import LoadedFile
from meshplane.spec.meshfiles import Domain

CODE = "invalid-notification"
SCHEME_CODE = "unknown-notification-scheme"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@functools.cache
def apprise_schemes() -> frozenset[str]:
    """Every URL scheme the installed apprise can send to (``slack``, ``mailtos``, ``json``…)."""
    import apprise

    out: set[str] = set()
    for plugin in apprise.Apprise().details()["schemas"]:
        for key in ("protocols", "secure_protocols"):
            value = plugin.get(key) or ()
            out.update([value] if isinstance(value, str) else value)
    return frozenset(s.lower() for s in out)


def webhook_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook (None: it can)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"webhook URL '{url}' is not an http(s) URL"
    return None


def apprise_problem(url: str) -> str | None:
    """Why `url` cannot be sent through apprise (None: it can)."""
    match = _SCHEME.match(url)
    if match is None:
        return f"apprise URL '{url}' has no scheme (e.g. slack://…, mailtos://…)"
    scheme = match.group(1).lower()
    if scheme not in apprise_schemes():
        return f"unknown notification scheme '{scheme}' in '{url}' (apprise cannot send to it)"
    return None


def check_domain_notifications(loaded: LoadedFile[Domain] | None) -> list[Diagnostic]:
    """Errors of the notification targets of one domain.yaml."""
    if loaded is None or loaded.model is None or not loaded.model.notifications:
        return []
    doc, out, names = loaded.document, [], set()

    def error(path: tuple[str | int, ...], message: str, code: str = CODE) -> None:
        if doc is not None:
            out.append(doc.diagnostic(path, message, code=code))
        else:
            out.append(Diagnostic(Severity.ERROR, code, message, loaded.file))

    for index, target in enumerate(loaded.model.notifications):
        where: tuple[str | int, ...] = ("notifications", index)
        if target.name in names:
            error((*where, "name"), f"two notification targets are named '{target.name}'")
        names.add(target.name)
        if (target.webhook is None) == (target.apprise is None):
            error(where, f"notification target '{target.name}' needs exactly one of webhook and apprise")
            continue
        if target.webhook is not None:
            problem = webhook_problem(target.webhook)
            if problem:
                error((*where, "webhook"), problem)
        elif target.apprise is not None:
            problem = apprise_problem(target.apprise)
            if problem:
                error((*where, "apprise"), problem, SCHEME_CODE if "scheme '" in problem else CODE)
            if target.secret_env:
                message = "secretEnv signs webhooks only; put ${VAR} placeholders in the apprise URL"
                error((*where, "secretEnv"), message)
    return out


__all__ = ["CODE", "SCHEME_CODE", "apprise_problem", "apprise_schemes", "check_domain_notifications", "webhook_problem"]
