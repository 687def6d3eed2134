"""Webhook targets: the JSON payload POSTed to an http(s) URL, signed with HMAC-SHA256.

Headers (docs/monitoring.md#payload): ``X-Meshplane-Event`` (the event kind: ``opened``…, ``agreement.requested``…),
``X-Meshplane-Delivery`` (the delivery id: the same on every retry, for receivers that deduplicate),
``X-Meshplane-Signature`` ``sha256=<hex HMAC-SHA256 of the raw body>`` keyed with the value of the
target's ``secretEnv`` variable (no header when the target names none). A 2xx answer is accepted;
anything else, a timeout or a refused connection is a failed attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import httpx

from meshplane.service.notify import Outgoing, SendResult

SIGNATURE_HEADER = "X-Meshplane-Signature"
DELIVERY_HEADER = "X-Meshplane-Delivery"
EVENT_HEADER = "X-Meshplane-Event"


def body_of(message: Outgoing) -> bytes:
    """The exact bytes sent: the payload with the delivery's id and attempt, as compact JSON."""
    document = message.payload | {"delivery": {"id": message.delivery_id, "attempt": message.attempt}}
    return json.dumps(document, separators=(",", ":"), sort_keys=True, default=str).encode()


def signature(secret: str, body: bytes) -> str:
    """The signature header's value for `body`: ``sha256=`` and the hex HMAC-SHA256 keyed with `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(message: Outgoing) -> SendResult:
    """POST the payload once; a 2xx status is delivered."""
    body = body_of(message)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "meshplane-notifications",
        DELIVERY_HEADER: str(message.delivery_id),
        EVENT_HEADER: str(message.payload.get("event", {}).get("kind", "")),
    }
    if message.secret_env:
        secret = os.environ.get(message.secret_env)
        if not secret:
            return SendResult(False, error=f"environment variable {message.secret_env} (the webhook secret) is not set")
        headers[SIGNATURE_HEADER] = signature(secret, body)
    try:
        with httpx.Client(timeout=message.timeout, follow_redirects=False) as client:
            response = client.post(message.address, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return SendResult(False, error=f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:
        return SendResult(True, response.status_code)
    return SendResult(False, response.status_code, f"the receiver answered {response.status_code}")


__all__ = ["DELIVERY_HEADER", "EVENT_HEADER", "SIGNATURE_HEADER", "body_of", "send", "signature"]
