"""The `test` use case: run a contract's checks against one of its servers.

One function, `run_tests`, serves the CLI, the API and the demo. A target is a contract file, a
contract id or a product id (all its output ports) of the mesh, or every contract (`all_contracts`).
Each contract gives one `TestRun` (the evaluation, with provenance). A run that cannot happen
(unknown server, no engine for it, missing database, no dataset readable) is a `TestRun` with
result `error` and the reason; input that cannot be understood at all raises `MeshplaneError`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from meshplane.checks import CheckSpec, ObjectDone, TestRun, compile_contract, run_checks
from meshplane.checks.kinds.sql_rule import SqlRuleSpec
from meshplane.checks.sqltext import PLACEHOLDERS
from meshplane.diagnostics import MeshplaneError
from meshplane.engines import registry
from meshplane.engines.base import EngineError, QueryError, local_data, local_root
from meshplane.mesh.repository import ContractEntry, MeshRepository, display_path, find_mesh_root, load_mesh
from meshplane.settings import Settings, get_settings
from meshplane.spec.loader import load_contract, load_mesh_config
from meshplane.spec.odcs import Contract, Server
from meshplane.spec.variables import MalformedReference, UnsetVariables, expand, from_environment, has_variables

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class RunStarted:
    """Progress: checks of a contract start on a server."""

    contract: str
    server: str
    engine: str
    objects: int


@dataclass(frozen=True)
class RunFinished:
    """Progress: a run ended (also when it ended in error)."""

    run: TestRun


ProgressEvent = RunStarted | ObjectDone | RunFinished
Progress = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class _Job:
    """One contract to test and where its relative paths resolve."""

    file: str
    contract: Contract | None
    base_dir: Path
    default_engine: str | None
    problem: str | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _looks_like_file(target: str) -> bool:
    return target.endswith((".yaml", ".yml")) or "/" in target or "\\" in target


def _mesh_lake(root: Path) -> tuple[Path, str | None]:
    """The lake root and default engine of the mesh at `root` (reads mesh.yaml only)."""
    repo = MeshRepository(root=root, config_file=load_mesh_config(root / "mesh.yaml"))
    return repo.lake_root, repo.config.default_engine if repo.config else None


def _file_job(path: Path, mesh_root: Path | None) -> _Job:
    loaded = load_contract(path, display_path(path))
    if not loaded.ok or loaded.model is None:
        raise MeshplaneError(f"{display_path(path)} is not a valid contract", loaded.diagnostics)
    root = mesh_root or find_mesh_root(path.parent)
    if root is not None and (root / "mesh.yaml").is_file():
        lake, default = _mesh_lake(root)
        return _Job(display_path(path), loaded.model, lake, default)
    return _Job(display_path(path), loaded.model, path.resolve().parent, None)


def _entry_job(repo: MeshRepository, entry: ContractEntry) -> _Job:
    default = repo.config.default_engine if repo.config else None
    if entry.contract is None:
        return _Job(entry.file, None, repo.lake_root, default, problem=f"{entry.file} is not a valid contract")
    return _Job(entry.file, entry.contract, repo.lake_root, default)


def _mesh(mesh_root: Path | None) -> MeshRepository:
    root = mesh_root or find_mesh_root(Path.cwd())
    if root is None:
        raise MeshplaneError("no mesh found here or above (give --mesh PATH, or a contract file)")
    return load_mesh(root)


def resolve_jobs(target: str | Path | None, *, all_contracts: bool, mesh_root: Path | None) -> list[_Job]:
    """The contracts a target names, in mesh order."""
    if all_contracts:
        repo = _mesh(mesh_root)
        if not repo.contracts:
            raise MeshplaneError(f"the mesh at {repo.root} has no contracts")
        return [_entry_job(repo, e) for e in repo.contracts]
    if target is None or str(target) == "":
        raise MeshplaneError("give a contract file, a contract id or a product id, or --all")
    path = Path(target)
    if path.is_file():
        return [_file_job(path, mesh_root)]
    text = str(target)
    if path.exists():
        raise MeshplaneError(f"{text} is a folder; give a contract file, a contract id or a product id")
    if _looks_like_file(text) and mesh_root is None and find_mesh_root(Path.cwd()) is None:
        raise MeshplaneError(f"no such contract file: {text}")
    repo = _mesh(mesh_root)
    entry = repo.contract_by_id(text)
    if entry is not None:
        return [_entry_job(repo, entry)]
    product = repo.product_by_id(text)
    if product is not None and product.product is not None:
        jobs = []
        for port in product.product.output_ports or []:
            if not port.contract_id:
                continue
            port_entry = repo.contract_by_id(port.contract_id)
            if port_entry is None:
                problem = f"output port '{port.name}' names contract '{port.contract_id}', not in the mesh"
                jobs.append(_Job(product.file, None, repo.lake_root, None, problem=problem))
            else:
                jobs.append(_entry_job(repo, port_entry))
        if not jobs:
            raise MeshplaneError(f"product '{text}' has no output port bound to a contract")
        return jobs
    if _looks_like_file(text):
        raise MeshplaneError(f"no such contract file: {text}")
    raise MeshplaneError(f"'{text}' is neither a contract file nor a contract or product id in the mesh at {repo.root}")


def choose_server(contract: Contract, name: str | None) -> Server:
    """The server to test: the one named, else the first one an engine can serve."""
    servers = contract.servers or []
    if name is not None:
        server = contract.server_named(name)
        if server is None:
            known = ", ".join(s.server for s in servers) or "none"
            raise MeshplaneError(f"contract '{contract.id}' has no server '{name}' (servers: {known})")
        return server
    if not servers:
        raise MeshplaneError(f"contract '{contract.id}' declares no servers to test against")
    for server in servers:
        if registry.can_serve(server):
            return server
    kinds = ", ".join(sorted({s.type for s in servers}))
    raise MeshplaneError(
        f"no engine can test the servers of contract '{contract.id}' (types: {kinds}; "
        f"engines: {', '.join(registry.engine_names())})"
    )


def allowed_variables(names: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables named in `names` (comma-separated: the `contract_variables` setting) that
    are set: what a server's or a worker's contract tests may read for ODCS v3.2.0 variables."""
    env = os.environ if environ is None else environ
    return from_environment(env, [name.strip() for name in names.split(",") if name.strip()])


def with_variables(server: Server, values: Mapping[str, str]) -> Server:
    """`server` with the variable references (ODCS v3.2.0) of its settings resolved from `values`."""
    extra = server.model_extra or {}
    changed = {}
    for name, value in extra.items():
        if isinstance(value, str) and "${" in value:
            try:
                changed[name] = expand(value, values)
            except (UnsetVariables, MalformedReference) as exc:
                raise MeshplaneError(f"server '{server.server}', {name}: {exc}") from exc
    return server.model_copy(update=changed) if changed else server


def outside_the_lake(server: Server, base_dir: Path, lake: Path) -> str | None:
    """Why a server's tests may not read `server`'s data (a local file outside `lake`), or None."""
    found = local_data(server)
    if found is None:
        return None
    setting, value = found
    where = Path(local_root(value, base_dir)).resolve()
    if where.is_relative_to(lake.resolve()):
        return None
    return (
        f"server '{server.server}', {setting}: {value} is outside the lake ({lake}); the tests a meshplane "
        "server runs read only the lake's data"
    )


def _sql_with_variables(specs: list[CheckSpec], values: Mapping[str, str]) -> list[CheckSpec]:
    """SQL rules with their variable references resolved (an unset one: the rule is an `error` naming it)."""

    def resolved(spec: CheckSpec) -> CheckSpec:
        if not isinstance(spec, SqlRuleSpec) or spec.problem or "${" not in spec.query:
            return spec
        try:
            return dataclasses.replace(spec, query=expand(spec.query, values, keep=PLACEHOLDERS))
        except (UnsetVariables, MalformedReference) as exc:
            return dataclasses.replace(spec, problem=str(exc))

    return [resolved(spec) for spec in specs]


def run_contract(
    contract: Contract,
    *,
    base_dir: Path,
    server: str | None = None,
    engine: str | None = None,
    default_engine: str | None = None,
    clock: Clock | None = None,
    progress: Progress | None = None,
    file: str | None = None,
    variables: Mapping[str, str] | None = None,
    settings: Settings | None = None,
    lake: Path | None = None,
) -> TestRun:
    """Run every check of `contract` against one of its servers.

    `variables`: the values of the contract's variable references (ODCS v3.2.0, ``${NAME}``); default:
    the environment variables the `contract_variables` setting names (`allowed_variables`). `settings`:
    the engine, sample rows and allowed variables to use (default: the process's; a worker passes its own).
    `lake`: where a server's runs may read local data (`outside_the_lake`); a file or folder elsewhere
    ends the run with an error (default: anywhere, as the user running `meshplane test` may).
    """
    now = clock or _utc_now
    started = now()
    settings = settings or get_settings()
    values = allowed_variables(settings.contract_variables) if variables is None else from_environment(variables)

    def ended(error: str, server_name: str | None, engine_name: str | None = None) -> TestRun:
        run = TestRun(contract.id, contract.version, server_name, engine_name, started, now(), error=error, file=file)
        if progress:
            progress(RunFinished(run))
        return run

    try:
        chosen = choose_server(contract, server)
        chosen = with_variables(chosen, values) if has_variables(contract.api_version) else chosen
        if lake is not None and (refused := outside_the_lake(chosen, base_dir, lake)):
            raise MeshplaneError(refused)
        runner = registry.engine_for(chosen, engine, default=settings.engine or default_engine)
    except MeshplaneError as exc:
        return ended(exc.message, server)
    specs = compile_contract(contract)
    specs = _sql_with_variables(specs, values) if has_variables(contract.api_version) else specs
    if progress:
        progress(RunStarted(contract.id, chosen.server, runner.name, len(contract.objects)))
    try:
        with runner.connect(chosen, base_dir) as session:
            outcome = run_checks(
                contract,
                specs,
                session,
                engine=runner,
                now=started,
                sample_rows=settings.sample_rows,
                progress=progress,
            )
    except (EngineError, QueryError) as exc:
        return ended(str(exc), chosen.server, runner.name)
    error = None
    if contract.objects and len(outcome.unavailable) == len(contract.objects):
        error = "no dataset could be read: " + "; ".join(f"{k}: {v}" for k, v in outcome.unavailable.items())
    run = TestRun(contract.id, contract.version, chosen.server, runner.name, started, now(), outcome.results,
                  error=error, file=file, datasets=outcome.datasets)  # fmt: skip
    if progress:
        progress(RunFinished(run))
    return run


def run_tests(
    target: str | Path | None,
    *,
    all_contracts: bool = False,
    mesh_root: Path | None = None,
    server: str | None = None,
    engine: str | None = None,
    clock: Clock | None = None,
    progress: Progress | None = None,
    variables: Mapping[str, str] | None = None,
) -> list[TestRun]:
    """Test every contract the target names; one `TestRun` per contract (`variables`: as `run_contract`).

    Raises `MeshplaneError` for input that names nothing testable (no such file or id, invalid
    contract file, unknown engine, a `server` no contract to test has).
    """
    if engine is not None:
        registry.engine_named(engine)  # unknown names are a usage error, before any work
    jobs = resolve_jobs(target, all_contracts=all_contracts, mesh_root=mesh_root)
    contracts = [job.contract for job in jobs if job.contract is not None]
    if server is not None and contracts and not any(c.server_named(server) for c in contracts):
        if len(contracts) == 1:
            choose_server(contracts[0], server)  # raises, naming the contract's servers
        raise MeshplaneError(f"no contract to test has a server '{server}'")  # a typo: nothing runs, nothing is stored
    runs = []
    for job in jobs:
        if job.contract is None:
            moment = (clock or _utc_now)()
            run = TestRun(None, None, server, engine, moment, moment, error=job.problem, file=job.file)
            if progress:
                progress(RunFinished(run))
            runs.append(run)
            continue
        run = run_contract(
            job.contract,
            base_dir=job.base_dir,
            server=server,
            engine=engine,
            default_engine=job.default_engine,
            clock=clock,
            progress=progress,
            file=job.file,
            variables=variables,
        )
        runs.append(run)
    return runs


@dataclass(frozen=True)
class Recorded:
    """Where test runs were stored: the registry (password masked) and how many runs."""

    registry: str
    runs: int
    skipped: int


def record_runs(
    runs: list[TestRun], *, mesh_root: Path | None = None, actor: str | None = None, hint: str = ""
) -> Recorded | None:
    """Store runs in the mesh's registry when one is configured; None when none is.

    A registry is configured when MESHPLANE_DATABASE_URL or mesh.yaml `registry` names one, or
    the default SQLite file already exists (after a first `meshplane apply`). Runs that never
    reached a contract (an unreadable contract file) have no contract id and are not stored.
    Runs of contracts the registry does not know are refused, all of them before any is stored
    (`NotFound` naming the ids; `hint` is added to its message), as the API refuses them.
    """
    from meshplane.registry.url import registry_configured, resolve_registry_url
    from meshplane.service.registries import configured_registry

    root = mesh_root or find_mesh_root(Path.cwd())
    try:
        resolved = resolve_registry_url(root, configured_registry(root))
    except MeshplaneError:
        if root is None:  # a contract outside any mesh and no MESHPLANE_DATABASE_URL: nothing to record into
            return None
        raise
    if not registry_configured(resolved):  # decided before SQLAlchemy is imported at all
        return None
    from meshplane.registry import Registry, mask_password, record_test_run
    from meshplane.service.gitops import default_actor
    from meshplane.service.testruns import refuse_unregistered  # imports SQLAlchemy: only with a registry

    registry = Registry(resolved)
    storable = [run for run in runs if run.contract_id is not None and run.contract_version is not None]
    with registry:
        refuse_unregistered(registry, [run.contract_id for run in storable if run.contract_id is not None], hint=hint)
        for run in storable:
            record_test_run(registry, run.to_dict(), actor=actor or default_actor())
        return Recorded(mask_password(registry.url.url), len(storable), len(runs) - len(storable))
