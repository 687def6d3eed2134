"""A small HTTP client of the meshplane API, for the CLI (`meshplane agreement`, `test --publish`).

Problems (RFC 9457) become `MeshplaneError` with the server's detail and diagnostics; a refusal
(403, 409) exits 1, any other problem 2 (bad input, bad token, unreachable server). The token goes
only into the ``Authorization`` header, never into a message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from meshplane import __version__
from meshplane.diagnostics import Diagnostic, MeshplaneError, Severity

API_PREFIX = "/api/v1"
REFUSALS = (403, 409)
PROBLEM_TYPE_BASE = "urn:meshplane:problem:"
"""The prefix of the server's problem types (`meshplane.api.problems.TYPE_BASE`)."""


def diagnostic_from_dict(item: Mapping[str, Any]) -> Diagnostic:
    """A diagnostic from its JSON form (`Diagnostic.to_dict`), as a server answers it."""
    severity = str(item.get("severity")) if item.get("severity") in {s.value for s in Severity} else "error"
    return Diagnostic(
        Severity(severity),
        str(item.get("code") or "server"),
        str(item.get("message")),
        item.get("file"),
        item.get("line"),
        item.get("column"),
        item.get("path"),
        item.get("hint"),
    )


def _diagnostics(problem: Mapping[str, Any]) -> list[Diagnostic]:
    out = [
        diagnostic_from_dict(item)
        for item in problem.get("diagnostics") or []
        if isinstance(item, Mapping) and item.get("message")
    ]
    for item in problem.get("errors") or []:
        if isinstance(item, Mapping):
            out.append(Diagnostic(Severity.ERROR, "request", f"{item.get('field')}: {item.get('reason')}"))
    return out


class ServerProblem(MeshplaneError):
    """A problem (RFC 9457) the server answered: its status, its type and the whole document."""

    def __init__(self, status: int, problem: Mapping[str, Any], diagnostics: list[Diagnostic], exit_code: int) -> None:
        detail = problem.get("detail") or "error"
        super().__init__(f"server answered {status}: {detail}", diagnostics, exit_code)
        self.status = status
        self.detail = str(detail)
        self.kind = str(problem.get("type") or "").removeprefix(PROBLEM_TYPE_BASE)
        self.problem = dict(problem)


class ApiClient:
    """Calls one meshplane server with one token."""

    def __init__(
        self,
        server_url: str,
        token: str | None,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = server_url.strip().rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise MeshplaneError(f"server URL '{server_url}' must start with http:// or https://")
        base = base.removesuffix(API_PREFIX)
        headers = {"User-Agent": f"meshplane/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base
        self._client = httpx.Client(base_url=base, headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """One request to ``/api/v1<path>``; the decoded JSON answer, or `MeshplaneError`."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._client.request(method, f"{API_PREFIX}{path}", json=json, params=query)
        except httpx.HTTPError as exc:
            raise MeshplaneError(f"cannot reach the meshplane server at {self.base_url}: {exc}") from None
        if response.is_success:
            return response.json() if response.content else None
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        if not isinstance(problem, Mapping):
            problem = {}
        problem = {**problem, "detail": problem.get("detail") or response.reason_phrase or "error"}
        code = 1 if response.status_code in REFUSALS else 2
        raise ServerProblem(response.status_code, problem, _diagnostics(problem), code)

    # --- GitOps -----------------------------------------------------------------------------------

    def plan_bundle(self, files: Mapping[str, str], *, prune: bool = False) -> dict[str, Any]:
        """The server's plan of a mesh bundle (``POST /apply`` with ``dryRun``): nothing is written."""
        result: dict[str, Any] = self.call(
            "POST", "/apply", json={"files": dict(files), "prune": prune, "dryRun": True}
        )
        return result

    def apply_bundle(
        self,
        files: Mapping[str, str],
        *,
        prune: bool = False,
        expected_fingerprint: str | None = None,
        expected_state: int | None = None,
    ) -> dict[str, Any]:
        """Apply a mesh bundle, all or nothing.

        Refused (409, nothing written) when its plan is no longer `expected_fingerprint`, or the
        registry is no longer at `expected_state` (a dry run's ``fingerprint`` and ``state``).
        """
        body = {
            "files": dict(files),
            "prune": prune,
            "expectedFingerprint": expected_fingerprint,
            "expectedState": expected_state,
        }
        result: dict[str, Any] = self.call("POST", "/apply", json=body)
        return result

    # --- agreements -------------------------------------------------------------------------------

    def request_agreement(
        self, *, consumer: str, provider: str, port: str, purpose: str, end_date: str | None = None
    ) -> dict[str, Any]:
        """Ask for access to `provider`'s output port `port` for product `consumer`."""
        body = {"consumer": consumer, "provider": provider, "port": port, "purpose": purpose, "endDate": end_date}
        result: dict[str, Any] = self.call("POST", "/agreements", json=body)
        return result

    def migrate_agreement(self, *, consumer: str, provider: str, from_port: str, to_port: str) -> dict[str, Any]:
        """Carry `consumer`'s open agreement on `provider`/`from_port` over to `to_port` (a new major's port)."""
        body = {"consumer": consumer, "provider": provider, "fromPort": from_port, "toPort": to_port}
        result: dict[str, Any] = self.call("POST", "/migrations/agreements", json=body)
        return result

    def decide_agreement(self, agreement_id: int, *, approve: bool, reason: str | None) -> dict[str, Any]:
        """Approve or reject a requested agreement."""
        verb = "approve" if approve else "reject"
        result: dict[str, Any] = self.call("POST", f"/agreements/{agreement_id}/{verb}", json={"reason": reason})
        return result

    def revoke_agreement(self, agreement_id: int, *, reason: str) -> dict[str, Any]:
        """End an agreement (or withdraw a request)."""
        result: dict[str, Any] = self.call("POST", f"/agreements/{agreement_id}/revoke", json={"reason": reason})
        return result

    def list_agreements(self, **filters: Any) -> dict[str, Any]:
        """One page of agreements (filters: state, domain, consumer, provider, port, limit, offset)."""
        result: dict[str, Any] = self.call("GET", "/agreements", params=filters)
        return result


@dataclass(frozen=True)
class PublishResult:
    """What `publish_test_runs` sent: the ids the server gave the runs, and the runs it could not send."""

    ids: list[int]
    skipped: int


def publishable_run(run: Any) -> dict[str, Any] | None:
    """A run (a `checks.TestRun` or its JSON) as the server takes it; None when it names no contract.

    Failing sample rows (``samples``) stay on the machine that ran the tests: they are data, and
    may be personal data.
    """
    document = run.to_dict() if hasattr(run, "to_dict") else dict(run)
    contract = document.get("contract") or {}
    if not contract.get("id") or not contract.get("version"):
        return None
    checks = [{k: v for k, v in check.items() if k != "samples"} for check in document.get("checks") or []]
    return {**document, "checks": checks}


def publish_test_runs(
    url: str, token: str | None, runs: Sequence[Any], *, transport: httpx.BaseTransport | None = None
) -> PublishResult:
    """Send test runs to a meshplane server (``POST /api/v1/test-runs``), at most 100 per request."""
    documents = [doc for doc in (publishable_run(r) for r in runs) if doc is not None]
    ids: list[int] = []
    with ApiClient(url, token, transport=transport) as client:
        for start in range(0, len(documents), 100):
            answer = client.call("POST", "/test-runs", json={"runs": documents[start : start + 100]})
            ids += [int(i) for i in answer.get("ids", [])]
    return PublishResult(ids, len(runs) - len(documents))


__all__ = [
    "API_PREFIX",
    "ApiClient",
    "PublishResult",
    "ServerProblem",
    "diagnostic_from_dict",
    "publish_test_runs",
    "publishable_run",
]
