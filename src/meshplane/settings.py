"""meshplane settings: one object, read from the environment (prefix ``MESHPLANE_``).

Every field has a default and a help text; `docs/configuration.md` is generated from (and tested
against) this class. Server credentials are not settings: they come from environment variables
named after the contract's server id (see `docs/engines.md`).

`Settings()` reads ``MESHPLANE_<FIELD>`` (any case) for every field not given as an argument; the
values are validated by pydantic. A plain model rather than pydantic-settings: that package costs
~80 ms and ~14 MB at every start of `meshplane test`, for a dozen environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from meshplane.diagnostics import MeshplaneError

ENV_PREFIX = "MESHPLANE_"


def environment_values(fields: Mapping[str, object], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``MESHPLANE_<FIELD>`` variables (names matched in any case) of `fields`, by field name."""
    env = os.environ if environ is None else environ
    wanted = {f"{ENV_PREFIX}{name}".upper(): name for name in fields}
    return {wanted[key.upper()]: value for key, value in env.items() if key.upper() in wanted}


class Settings(BaseModel):
    """Process-wide configuration."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        """Fill every field not given explicitly from its environment variable."""
        if not isinstance(data, dict):
            return data
        return {**environment_values(cls.model_fields), **data}

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the registry, e.g. postgresql+psycopg://user@host/db. "
        "Default: sqlite:///<mesh>/.meshplane/registry.db (or the `registry` of mesh.yaml).",
    )
    engine: str | None = Field(
        default=None,
        description="Engine for `meshplane test` when none is given with --engine; default: the one the server type "
        "prefers (duckdb for files).",
    )
    sample_rows: int = Field(default=5, ge=0, le=1000, description="Failing sample rows kept per check (0 = none).")
    query_timeout_seconds: float = Field(
        default=600,
        gt=0,
        description="Longest a contract-test query may run where the engine enforces it (PostgreSQL "
        "statement_timeout); a query past it is an `error` check.",
    )
    contract_variables: str = Field(
        default="",
        description="Comma-separated names of environment variables that contract tests run by a server or a "
        "worker may read for ODCS v3.2.0 variable references (${NAME} in server settings and SQL rules); "
        "`meshplane test` reads its own shell's environment. meshplane's own MESHPLANE_* settings are never variables.",
    )
    spark_master: str = Field(
        default="local[*]", description="Spark master URL for the spark engine (local[*], spark://host:7077, yarn)."
    )
    spark_remote: str | None = Field(
        default=None, description="Spark Connect URL (sc://host:15002); when set it is used instead of spark_master."
    )
    server_url: str | None = Field(
        default=None, description="URL of a meshplane server for client commands (agreement, test --publish, ...)."
    )
    token: str | None = Field(default=None, description="API token for client commands talking to a meshplane server.")
    anonymous_read: bool = Field(
        default=False, description="Let requests without a token read the catalog (server setting)."
    )
    token_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="Seconds a server remembers a verified API token (no registry read per request). A revocation "
        "through the same server applies at once, one made elsewhere within this time. 0: verify every request.",
    )
    token_default_expiry_days: int = Field(
        default=90,
        ge=1,
        le=366,
        description="Days a new API token is valid when `meshplane token create --expires` (or `expires` in "
        "POST /api/v1/tokens) does not say; every token expires, at most 366 days ahead.",
    )
    worker_in_server: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Whether a server process (`meshplane serve`, `create_app`) runs the background worker (lineage "
        "derivation) as a thread: auto = on for a SQLite registry, off for PostgreSQL (run `meshplane worker` beside "
        "the servers).",
    )
    worker_poll_seconds: float = Field(
        default=0.2,
        gt=0,
        le=60,
        description="Seconds a worker without work waits before looking again (what gathered meanwhile is derived "
        "together).",
    )
    worker_max_lag_seconds: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="Seconds a worker lets received events wait while more keep arriving, so that the receivers "
        "answer first during a burst; past that it derives alongside them. 0: never wait.",
    )
    worker_lease_seconds: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="Seconds a worker's claim on queued work lasts: the work of a worker that died is taken over "
        "by another after this.",
    )
    worker_heartbeat_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="Seconds between a worker's heartbeats (`meshplane db status`, GET /api/v1/lineage/status).",
    )
    monitor_run_lease_seconds: float = Field(
        default=900.0,
        ge=10,
        le=86400,
        description="Seconds a worker's claim on a scheduled contract test lasts (docs/monitoring.md): a run "
        "whose worker died is run again by another worker after this. Longer than the slowest test run.",
    )
    monitor_freshness_seconds: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="Seconds between the worker's freshness evaluations of every port with a freshness or latency "
        "SLA (from lineage, table metadata and the last test: no data is read; docs/monitoring.md).",
    )
    monitor_sync_seconds: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="Seconds between checks whether applied contracts or mesh.yaml `monitoring` changed the "
        "schedules of the worker's contract tests.",
    )
    public_url: str | None = Field(
        default=None,
        description="The server's address as people reach it (https://meshplane.example.org): notifications link "
        "to the incident's web page below it (docs/monitoring.md#notifications); unset: no link.",
    )
    notify_backoff_seconds: float = Field(
        default=30.0,
        ge=0.01,
        le=3600,
        description="Seconds before the first retry of a failed notification delivery; each retry waits twice as "
        "long as the one before, up to an hour (docs/monitoring.md#notifications).",
    )
    notify_retry_window_seconds: float = Field(
        default=86400.0,
        ge=0.1,
        le=7 * 86400,
        description="Seconds a notification delivery is retried after its first attempt; then it is dead "
        "(the dead-letter state, shown with the incident).",
    )
    notify_reminder_seconds: float = Field(
        default=21600.0,
        ge=1,
        le=7 * 86400,
        description="Seconds between the worker's deprecation reminder cycles: each consumer still on a deprecated "
        "port hears once per milestone (docs/monitoring.md#who-hears-what).",
    )
    notify_timeout_seconds: float = Field(
        default=10.0,
        ge=0.1,
        le=120,
        description="Seconds one notification delivery (one HTTP request or apprise send) may take before it "
        "counts as failed.",
    )
    lake_base: Path | None = Field(
        default=None,
        description="Folder a relative `lake.root` resolves against in mesh bundles applied through the server "
        "(POST /api/v1/apply): the lake as the server sees it. Default: the mesh folder the server runs in, else "
        "its working directory.",
    )
    log_level: str = Field(default="info", description="Log level of the server (debug, info, warning, error).")
    max_request_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Largest request body the server accepts, in bytes after gzip decompression (larger: 413).",
    )
    rate_limit_token: str = Field(
        default="60000/minute",
        description="Requests one API token may make (429 with Retry-After beyond), in the `limits` notation: "
        "600/minute, 10/second;1000/hour. Counted per server process. off: no limit.",
    )
    rate_limit_address: str = Field(
        default="12000/minute",
        description="Requests one client address may make without a valid token (anonymous reads, refused tokens, "
        "/openapi.json), in the same notation; /health is never limited. Counted per server process. off: no limit.",
    )

    @field_validator("rate_limit_token", "rate_limit_address")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        """``off`` or limits the `limits` library reads (the server parses them again: `meshplane.api.ratelimits`)."""
        if value.strip().lower() != "off":
            from limits import parse_many

            parse_many(value)  # ValueError: pydantic names the setting
        return value.strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (read once from the environment).

    A malformed value raises `MeshplaneError` naming the variable, never a traceback.
    """
    try:
        return Settings()
    except pydantic.ValidationError as exc:
        given = environment_values(Settings.model_fields)
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            problems.append(f"{ENV_PREFIX}{field.upper()}={given.get(field, '')!r}: {error['msg']}")
        raise MeshplaneError("invalid setting: " + "; ".join(problems)) from None


def settings_reference() -> str:
    """Markdown table of every setting (docs/configuration.md embeds it; a test keeps them equal)."""
    lines = ["| environment variable | default | what it does |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = "" if info.default is None else f"`{info.default}`"
        lines.append(f"| `MESHPLANE_{name.upper()}` | {default} | {info.description} |")
    return "\n".join(lines) + "\n"
