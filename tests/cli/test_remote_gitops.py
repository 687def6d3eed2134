"""`meshplane plan|apply --server-url`: GitOps through a live `meshplane serve`, as the local commands.

Two copies of one registry (the example mesh applied, tokens created): a `meshplane serve`
subprocess on 127.0.0.1 serves one, the local commands read the other. The same change planned
or applied both ways gives the same output (but for the registry named in the plan's first line)
and the same exit code, with admin and domain tokens; a token of another domain is refused naming
the domain; an unreachable server, an invalid or expired token are exit 2 with nothing written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner, Result

from meshplane.access import Principal, Role
from meshplane.api.client import ApiClient
from meshplane.cli.app import app
from meshplane.cli.remote_gitops import remote_apply
from meshplane.mesh.repository import display_path
from meshplane.registry import Registry
from meshplane.registry import models as m
from meshplane.registry.access import ApiToken
from meshplane.service.bundles import read_bundle
from meshplane.service.gitops import apply_mesh
from meshplane.service.tokens import create_token
from meshplane.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "holding"
CHANGES = REPO / "examples" / "changes"
MESHPLANE = Path(sys.executable).parent / "meshplane"
OPERATOR = Principal.local_admin("test-operator")
HEADER = re.compile(r"→ registry \S+")
ROLES = (("admin", Role.ADMIN, None), ("customer", Role.MAINTAINER, "customer"), ("retail", Role.MAINTAINER, "retail"))

runner = CliRunner()
pytestmark = pytest.mark.slow


@dataclass
class Template:
    """A registry with the example mesh applied, and tokens: `admin`, `customer`, `retail` (maintainers)."""

    registry: Path
    tokens: dict[str, str] = field(default_factory=dict)
    actors: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    folder = tmp_path_factory.mktemp("remote-template")
    mesh = Path(shutil.copytree(EXAMPLE, folder / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    made = Template(folder / "registry.db")
    with Registry(f"sqlite:///{made.registry}") as registry:
        apply_mesh(mesh, registry=registry, actor="test")
        for who, role, domain in ROLES:
            created = create_token(registry, OPERATOR, role=role, domain=domain, name=f"ci-{who}")
            made.tokens[who] = created.token
            made.actors[who] = Principal(f"ci-{who}", role, domain, created.info.id).actor
    return made


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A mesh checkout, the local registry and the URL of a server on a copy of the same registry."""

    mesh: Path
    local: Path
    remote: Path
    url: str
    tokens: dict[str, str]
    actors: dict[str, str]


@pytest.fixture
def served(template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    for name in ("MESHPLANE_DATABASE_URL", "MESHPLANE_SERVER_URL", "MESHPLANE_TOKEN", "MESHPLANE_ANONYMOUS_READ"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    mesh = Path(shutil.copytree(EXAMPLE, tmp_path / "holding", ignore=shutil.ignore_patterns("lake", ".meshplane")))
    local, remote = tmp_path / "local.db", tmp_path / "remote.db"
    shutil.copyfile(template.registry, local)
    shutil.copyfile(template.registry, remote)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHPLANE_")}
    env |= {"MESHPLANE_DATABASE_URL": f"sqlite:///{remote}", "MESHPLANE_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [str(MESHPLANE), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"meshplane serve exited: {process.stdout.read() if process.stdout else ''}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise AssertionError("meshplane serve did not answer within 60 s") from None
                time.sleep(0.1)
        yield Served(mesh, local, remote, url, dict(template.tokens), dict(template.actors))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        get_settings.cache_clear()


def run_local(served: Served, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setenv("MESHPLANE_DATABASE_URL", f"sqlite:///{served.local}")
    monkeypatch.delenv("MESHPLANE_TOKEN", raising=False)
    get_settings.cache_clear()
    try:
        return runner.invoke(app, list(args), catch_exceptions=False)
    finally:
        monkeypatch.delenv("MESHPLANE_DATABASE_URL")
        get_settings.cache_clear()


def run_remote(served: Served, monkeypatch: pytest.MonkeyPatch, who: str, *args: str, url: str | None = None) -> Result:
    monkeypatch.setenv("MESHPLANE_TOKEN", served.tokens.get(who, who))
    get_settings.cache_clear()
    try:
        return runner.invoke(app, [*args, "--server-url", url or served.url], catch_exceptions=False)
    finally:
        monkeypatch.delenv("MESHPLANE_TOKEN")
        get_settings.cache_clear()


def same(local: Result, remote: Result) -> None:
    """Equal exit codes and output, the registry named in the plan's first line aside."""
    assert remote.exit_code == local.exit_code, remote.output
    assert HEADER.sub("→ registry R", remote.output) == HEADER.sub("→ registry R", local.output)


def breaking_change(mesh: Path) -> None:
    """customers 1.1.0 drops a column others read: the plan has an error and a cross-domain impact."""
    product = mesh / "domains/customer/products/profiles"
    shutil.copy(CHANGES / "customer.profiles.customers-1.1.0.odcs.yaml", product / "contracts/customers.odcs.yaml")
    data = yaml.safe_load((product / "product.odps.yaml").read_text(encoding="utf-8"))
    data["outputPorts"][0]["version"] = "1.1.0"
    (product / "product.odps.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def customer_description(mesh: Path) -> None:
    """A change owned by the customer domain: a new description of the domain."""
    file = mesh / "domains/customer/domain.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data["description"] = "Customer master data, now planned through the server."
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def audit_count(database: Path) -> int:
    with Registry(f"sqlite:///{database}") as registry, registry.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(m.AuditEntry)) or 0)


@pytest.mark.parametrize("output_format", ["table", "json"])
def test_a_refused_plan_is_the_same_through_the_server(
    served: Served, monkeypatch: pytest.MonkeyPatch, output_format: str
) -> None:
    breaking_change(served.mesh)
    local = run_local(served, monkeypatch, "plan", str(served.mesh), "--format", output_format)
    assert local.exit_code == 1 and "breaking-without-major" in local.output
    for who in ("admin", "customer"):
        same(local, run_remote(served, monkeypatch, who, "plan", str(served.mesh), "--format", output_format))
    if output_format == "json":
        errors = json.loads(local.stdout)["errors"]
        assert errors[0]["file"] == display_path(
            served.mesh / "domains/customer/products/profiles/contracts/customers.odcs.yaml"
        ), "files are named as locally"
    assert "impact" in local.output
    refused = run_remote(served, monkeypatch, "customer", "apply", str(served.mesh), "--yes", "--format", output_format)
    assert refused.exit_code == 1
    assert audit_count(served.remote) == audit_count(served.local), "nothing was written"


def test_an_unchanged_repository_plans_and_applies_nothing_either_way(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    same(
        run_local(served, monkeypatch, "plan", str(served.mesh)),
        run_remote(served, monkeypatch, "retail", "plan", str(served.mesh)),
    )
    local = run_local(served, monkeypatch, "apply", str(served.mesh), "--yes")
    remote = run_remote(served, monkeypatch, "retail", "apply", str(served.mesh), "--yes")
    same(local, remote)
    assert remote.exit_code == 0 and "nothing to apply" in remote.output


@pytest.mark.parametrize(("who", "output_format"), [("customer", "table"), ("admin", "json")])
def test_an_apply_through_the_server_writes_what_the_local_apply_writes(
    served: Served, monkeypatch: pytest.MonkeyPatch, who: str, output_format: str
) -> None:
    customer_description(served.mesh)
    same(
        run_local(served, monkeypatch, "plan", str(served.mesh), "--format", output_format),
        run_remote(served, monkeypatch, who, "plan", str(served.mesh), "--format", output_format),
    )
    local = run_local(
        served,
        monkeypatch,
        "apply",
        str(served.mesh),
        "--yes",
        "--actor",
        served.actors[who],
        "--format",
        output_format,
    )
    remote = run_remote(served, monkeypatch, who, "apply", str(served.mesh), "--yes", "--format", output_format)
    same(local, remote)
    assert remote.exit_code == 0
    if output_format == "json":
        assert json.loads(remote.stdout)["applied"] is True
    else:
        assert f"by {served.actors[who]}" in remote.output
    again = run_remote(served, monkeypatch, who, "plan", str(served.mesh), "--format", "json")
    assert again.exit_code == 0 and json.loads(again.stdout) == {"changes": [], "errors": []}


def test_what_the_repository_no_longer_has_shows_the_same_through_the_server(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    for product in ("campaign_performance", "campaign_responses"):
        shutil.rmtree(served.mesh / "domains/marketing/products" / product)
    kept = run_local(served, monkeypatch, "plan", str(served.mesh))
    assert kept.exit_code == 0 and "not in the repository (kept; --prune retires them)" in kept.output
    same(kept, run_remote(served, monkeypatch, "admin", "plan", str(served.mesh)))
    pruned = run_local(served, monkeypatch, "plan", str(served.mesh), "--prune")
    assert "- retire product marketing.campaign_responses" in pruned.output
    same(pruned, run_remote(served, monkeypatch, "admin", "plan", str(served.mesh), "--prune"))


def test_a_token_of_another_domain_is_refused_naming_the_domain(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_description(served.mesh)
    before = audit_count(served.remote)
    for command in (["plan", str(served.mesh)], ["apply", str(served.mesh), "--yes"]):
        result = run_remote(served, monkeypatch, "retail", *command)
        assert result.exit_code == 1, result.output
        assert "403" in result.output and "domain(s) customer" in result.output
        assert "Traceback" not in result.output
    assert audit_count(served.remote) == before


def test_apply_asks_before_applying_through_the_server(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    customer_description(served.mesh)
    before = audit_count(served.remote)
    monkeypatch.setenv("MESHPLANE_TOKEN", served.tokens["admin"])
    get_settings.cache_clear()
    declined = runner.invoke(app, ["apply", str(served.mesh), "--server-url", served.url], input="n\n")
    assert declined.exit_code == 1 and "nothing was written" in declined.output
    assert audit_count(served.remote) == before
    options = runner.invoke(app, ["apply", str(served.mesh), "--server-url", served.url, "--actor", "me", "--yes"])
    assert options.exit_code == 2 and "--actor" in options.output
    assert audit_count(served.remote) == before


def test_lint_errors_are_the_same_through_the_server(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    file = served.mesh / "domains/customer/domain.yaml"
    file.write_text(file.read_text(encoding="utf-8") + "unknownField: [1\n", encoding="utf-8")
    for output_format in ("table", "json"):
        local = run_local(served, monkeypatch, "plan", str(served.mesh), "--format", output_format)
        assert local.exit_code == 1
        same(local, run_remote(served, monkeypatch, "admin", "plan", str(served.mesh), "--format", output_format))


def test_an_apply_planned_against_an_older_registry_is_refused(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    customer_description(served.mesh)
    files = read_bundle(served.mesh)
    theirs = files["domains/customer/domain.yaml"].replace("now planned", "later applied")
    assert theirs != files["domains/customer/domain.yaml"]
    moved: list[dict[str, object]] = []

    def another_apply_meanwhile(summary: str) -> bool:
        """Confirm the plan shown, after another team applied the same domain with other content."""
        with ApiClient(served.url, served.tokens["admin"]) as other:
            moved.append(other.apply_bundle({**files, "domains/customer/domain.yaml": theirs}))
        return True

    with ApiClient(served.url, served.tokens["customer"]) as client:
        code = remote_apply(client, served.mesh, prune=False, output_format="table", confirm=another_apply_meanwhile)
    captured = capsys.readouterr()
    output = " ".join((captured.out + captured.err).split())
    assert moved and moved[0]["applied"]
    assert code == 1 and "server answered 409" in output and "plan again" in output, output
    with ApiClient(served.url, served.tokens["customer"]) as client:
        now = client.plan_bundle(files)
    assert now["changes"], "ours was not written: the registry holds theirs"
    assert now["fingerprint"] == moved[0]["fingerprint"] and now["state"] == moved[0]["auditId"]


def test_a_server_that_does_not_answer_is_exit_2(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    for command in (["plan", str(served.mesh)], ["apply", str(served.mesh), "--yes"]):
        result = run_remote(served, monkeypatch, "admin", *command, url=dead)
        assert result.exit_code == 2
        assert f"cannot reach the meshplane server at {dead}" in result.output and "Traceback" not in result.output
    assert not (served.mesh / ".meshplane").exists()


def test_an_invalid_or_expired_token_is_exit_2_and_writes_nothing(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_description(served.mesh)
    with Registry(f"sqlite:///{served.remote}") as registry:
        expired = create_token(registry, OPERATOR, role=Role.ADMIN, name="expired")

        def expire(session: sa.orm.Session) -> None:
            row = session.scalars(sa.select(ApiToken).where(ApiToken.token_id == expired.info.id)).one()
            row.expires_at = row.created_at - timedelta(days=1)

        registry.write(expire)
    before = audit_count(served.remote)
    for token in ("mp_invalid_token", expired.token):
        for command in (["plan", str(served.mesh)], ["apply", str(served.mesh), "--yes"]):
            result = run_remote(served, monkeypatch, token, *command)
            assert result.exit_code == 2, result.output
            assert "401" in result.output and "Traceback" not in result.output
    monkeypatch.delenv("MESHPLANE_TOKEN", raising=False)
    get_settings.cache_clear()
    missing = runner.invoke(app, ["plan", str(served.mesh), "--server-url", served.url])
    assert missing.exit_code == 2 and "MESHPLANE_TOKEN" in missing.output
    assert audit_count(served.remote) == before
