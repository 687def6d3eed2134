"""Notification targets, one module per kind: `webhook` (signed JSON over HTTP) and `chat` (apprise).

A target kind is a `Sender`: given a claimed delivery (its declared address, the secret's environment
variable, the JSON payload and the text) it makes one attempt within `timeout` seconds and answers a
`SendResult`. It never raises: whatever goes wrong is a failed attempt with a one-line reason, and
the notifications job retries it. Adding a kind is one module and one line of `SENDERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outgoing:
    """What one attempt sends: where, with which secret, the JSON payload and its text rendering."""

    delivery_id: int
    attempt: int
    address: str
    secret_env: str | None
    payload: dict[str, Any]
    title: str
    text: str
    timeout: float


@dataclass(frozen=True)
class SendResult:
    """One attempt: accepted or not, the receiver's status when there is one, why it failed."""

    ok: bool
    status: int | None = None
    error: str | None = None


Sender = Callable[[Outgoing], SendResult]


def sender_of(kind: str) -> Sender:
    """The sender of a target kind (``webhook``, ``apprise``)."""
    from meshplane.service.notify import chat, webhook

    senders: dict[str, Sender] = {"webhook": webhook.send, "apprise": chat.send}
    return senders[kind]


__all__ = ["Outgoing", "SendResult", "Sender", "sender_of"]
