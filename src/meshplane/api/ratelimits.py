"""Request rate limits: per token, and per client address for requests without a valid token.

The `limits` library counts (a sliding window counter, in this process's memory); this module
says what is counted against what, and answers ``429`` with ``Retry-After`` when a limit is spent:

* a request with a valid token counts against **its token** (`rate_limit_token`);
* a request without a token counts against **its client address** (`rate_limit_address`);
* so does every refused token (bad, unknown, revoked, expired), with a count of its own under the
  same limit. While an address has spent that one, a token from it that the server does not
  remember is refused (429) before the registry is read to verify it: guessing tokens costs the
  server nothing more, and anonymous reads from a shared address do not lock its token holders out.

``/health`` is never limited (a load balancer's probe must not be refused); ``/openapi.json`` and
``/docs`` count against the address. The counts live in this process: with ``--workers N`` each
process counts on its own, so a caller may make up to N times the limit (docs/deployment.md). A
setting of ``off`` turns that limit off.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

OFF = "off"
"""The value of a limit setting that turns it off."""
UNLIMITED_PATHS = frozenset({"/health"})
"""Paths never limited."""


class RateLimitSettingError(ValueError):
    """A limit setting that is neither ``off`` nor the `limits` notation; the message says why."""


def parse_rate_limits(text: str) -> tuple[RateLimitItem, ...]:
    """The limits a setting names (``600/minute``, ``10/second;1000/hour``); none for ``off``."""
    value = text.strip()
    if value.lower() == OFF:
        return ()
    try:
        return tuple(parse_many(value))
    except ValueError:
        raise RateLimitSettingError(
            f"{value[:80]!r} is not a rate limit: write e.g. 600/minute or 10/second;1000/hour (or off)"
        ) from None


class TooManyRequests(Exception):
    """A limit is spent: answer 429 after `retry_after` seconds."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.detail, self.retry_after = detail, retry_after


@dataclass
class RateLimits:
    """The limits of one application (owned by its request guard), counted in this process's memory."""

    token: tuple[RateLimitItem, ...]
    """Limits per token (`rate_limit_token`)."""
    address: tuple[RateLimitItem, ...]
    """Limits per client address, for requests without a valid token (`rate_limit_address`)."""
    _limiter: SlidingWindowCounterRateLimiter | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(cls, token: str, address: str) -> RateLimits:
        """The limits the two settings name (`parse_rate_limits`)."""
        return cls(parse_rate_limits(token), parse_rate_limits(address))

    def _counter(self) -> SlidingWindowCounterRateLimiter:
        # The async storage belongs to one event loop (its locks and expiry task); a server has one.
        # A new loop (a test calling the app with asyncio.run per request) starts new counts.
        loop = asyncio.get_running_loop()
        if self._limiter is None or self._loop is not loop:
            self._limiter, self._loop = SlidingWindowCounterRateLimiter(MemoryStorage()), loop
        return self._limiter

    async def count_token(self, token_id: str) -> None:
        """Count a request of a valid token; `TooManyRequests` when its limit is spent."""
        await self._hit("token", token_id)

    async def count_address(self, address: str) -> None:
        """Count a request without a token from `address`; `TooManyRequests` when its limit is spent."""
        await self._hit("address", address)

    async def count_refused(self, address: str) -> None:
        """Count a refused token from `address`; `TooManyRequests` when its limit is spent."""
        await self._hit("refused", address)

    async def require_verification_budget(self, address: str) -> None:
        """`TooManyRequests` when `address` has spent its limit of refused tokens (nothing counted)."""
        if not self.address:
            return
        counter = self._counter()
        for item in self.address:
            if not await counter.test(item, "refused", address):
                await self._refuse(counter, item, "refused", address)

    async def _hit(self, kind: str, key: str) -> None:
        items = self.token if kind == "token" else self.address
        if not items:
            return
        counter = self._counter()
        for item in items:
            if not await counter.hit(item, kind, key):
                await self._refuse(counter, item, kind, key)

    @staticmethod
    async def _refuse(counter: SlidingWindowCounterRateLimiter, item: RateLimitItem, kind: str, key: str) -> None:
        stats = await counter.get_window_stats(item, kind, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        window = f"{item.multiples} {item.GRANULARITY.name}s" if item.multiples != 1 else item.GRANULARITY.name
        whose = {"token": "for this token", "address": f"from {key}", "refused": f"with refused tokens from {key}"}
        setting = "rate_limit_token" if kind == "token" else "rate_limit_address"
        raise TooManyRequests(
            f"too many requests {whose[kind]}: at most {item.amount} per {window} (the {setting} setting, "
            f"MESHPLANE_{setting.upper()}); retry after {retry_after} s",
            retry_after,
        )


def client_address(scope_client: tuple[str, int] | list[object] | None) -> str:
    """The address requests of a client are counted under (the ASGI scope's ``client`` host)."""
    if scope_client:
        return str(scope_client[0])
    return "unknown"


__all__ = [
    "OFF",
    "UNLIMITED_PATHS",
    "RateLimitSettingError",
    "RateLimits",
    "TooManyRequests",
    "client_address",
    "parse_rate_limits",
]
