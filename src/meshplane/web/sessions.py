"""Browser sessions of the cockpit: a random id in an HttpOnly, SameSite=Strict cookie, the rest on the server.

A visitor gets a session at the first page (anonymous: only a CSRF token). Signing in with an API
token starts a **new** session (a fresh id: no fixation) that keeps the token in this process's
memory, never in the cookie; every request authenticates it again through the API's
`TokenAuthenticator`, so a revoked or expired token signs the browser out at once (within the
token cache). Sessions live `SESSION_TTL_S` after their last use, at most `MAX_SESSIONS` per
process (the oldest go first). They belong to one `SessionStore` per application: a server restart
signs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

COOKIE = "meshplane_session"
SESSION_TTL_S = 8 * 3600
MAX_SESSIONS = 10_000


@dataclass
class Session:
    """One browser's session: its CSRF token and, once signed in, the API token it signed in with."""

    id: str
    csrf: str
    token: str | None = None
    touched: float = field(default_factory=time.monotonic)

    def csrf_ok(self, value: str | None) -> bool:
        """True when a form's CSRF field is this session's token (compared in constant time)."""
        return value is not None and hmac.compare_digest(value.encode(), self.csrf.encode())


class SessionStore:
    """The sessions of one application (`WebContext.sessions`)."""

    def __init__(self, *, ttl_s: float = SESSION_TTL_S, max_sessions: int = MAX_SESSIONS) -> None:
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        """The live session of a cookie's id, or None."""
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            found = self._sessions.get(session_id)
            if found is None:
                return None
            if now - found.touched > self.ttl_s:
                del self._sessions[session_id]
                return None
            found.touched = now
            self._sessions.move_to_end(session_id)
            return found

    def start(self, token: str | None = None) -> Session:
        """A new session (with a new id and CSRF token)."""
        created = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), token)
        with self._lock:
            self._sessions[created.id] = created
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return created

    def end(self, session_id: str) -> None:
        """Forget a session (sign-out)."""
        with self._lock:
            self._sessions.pop(session_id, None)


__all__ = ["COOKIE", "MAX_SESSIONS", "SESSION_TTL_S", "Session", "SessionStore"]
