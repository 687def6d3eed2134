"""Chat and e-mail targets through apprise (Slack, Microsoft Teams, e-mail… by URL).

The declared URL may hold ``${VAR}`` placeholders (``slack://${RETAIL_SLACK_TOKENS}``,
``mailtos://${SMTP_USER}:${SMTP_PASSWORD}@mail.example.org?to=oncall@example.org``), replaced from
the environment for each attempt: the repository and the registry keep only the placeholders, and
no message or log names the expanded URL. The text rendering of the incident is sent as the body.
"""

from __future__ import annotations

import os

from meshplane.service.notify import Outgoing, SendResult
from meshplane.spec.variables import expand as expand_variables
from meshplane.spec.variables import from_environment, malformed, unresolved


def expand(address: str) -> tuple[str | None, str | None]:
    """(the URL with its placeholders replaced, None) or (None, why not: a variable that is not set).

    A placeholder is read as a contract's variable is (`meshplane.spec.variables`): an unset or empty
    variable without a default is a failed attempt. meshplane's own settings (``MESHPLANE_*``) are never
    offered: a domain's address cannot carry the registry's URL away.
    """
    values = {name: value for name, value in from_environment(os.environ).items() if value}
    if bad := malformed(address):
        return None, f"malformed placeholder {', '.join(bad)} (${{NAME}} or ${{NAME:-default}})"
    if missing := unresolved(address, values):
        return None, f"environment variable {', '.join(sorted(set(missing)))} is not set"
    return expand_variables(address, values), None


def send(message: Outgoing) -> SendResult:
    """Send the text once through apprise."""
    import apprise

    url, problem = expand(message.address)
    if url is None:
        return SendResult(False, error=problem)
    scheme = message.address.split("://", 1)[0]
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return SendResult(False, error=f"apprise cannot read the {scheme}:// URL (after its placeholders)")
    try:
        sent = notifier.notify(body=message.text, title=message.title, timeout=message.timeout)
    except Exception as exc:  # apprise plugins raise what their libraries raise
        return SendResult(False, error=f"{scheme}: {type(exc).__name__}")
    if sent:
        return SendResult(True)
    return SendResult(False, error=f"apprise could not deliver to the {scheme}:// target")


__all__ = ["expand", "send"]
