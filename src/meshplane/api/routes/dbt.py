"""dbt link and unresolved-lineage routes: the dbt bridge, and what events named that no port claims.

``POST /api/v1/products/{product_id}/dbt-link`` records the relations a ``meshplane dbt link``
read from a dbt manifest (the CLI reads the manifest and sends what it says), for the product's
maintainers and admins; ``GET`` shows the current link. ``GET /api/v1/lineage/unresolved`` lists
the dataset identities of events that resolved to no output port (`meshplane.service.unresolved`).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import ConfigDict, Field

from meshplane.api.bodies import JsonRoute
from meshplane.api.context import ApiContext, get_context
from meshplane.api.params import DIGITS, ApiModel, Day, OpenModel, ProductId
from meshplane.api.problems import READ_PROBLEMS
from meshplane.api.security import PRODUCT_DOMAIN, Caller, read_access, writes
from meshplane.lineage.dbt import ManifestLinks
from meshplane.service import dbtlink, unresolved

router = APIRouter(
    prefix="/api/v1",
    tags=["lineage"],
    dependencies=[Depends(read_access)],
    responses=READ_PROBLEMS,
    route_class=JsonRoute,
)

Context = Annotated[ApiContext, Depends(get_context)]


class RelationIn(ApiModel):
    """One dbt node as the manifest describes it (`meshplane.lineage.dbt.RelationLink`)."""

    model_config = ConfigDict(extra="forbid")

    node: str = Field(min_length=1, max_length=2000, description="The dbt unique id (source.p.s.t, model.p.m).")
    kind: str = Field(pattern="^(source|model|relation)$", description="source, model or relation.")
    scheme: str = Field(min_length=1, max_length=32, description="The warehouse's namespace scheme (duckdb, …).")
    name: str = Field(min_length=1, max_length=2000, description="The relation's canonical name.")
    target: str | None = Field(default=None, max_length=4000, description="What it stands for: namespace#name.")
    function: str | None = Field(default=None, max_length=64, description="The table function reading it.")
    location: str | None = Field(default=None, max_length=4000, description="The location as the manifest says.")


class DbtLinkIn(ApiModel):
    """What `meshplane dbt link` read from a manifest."""

    model_config = ConfigDict(extra="forbid")

    manifest: str = Field(min_length=1, max_length=4000, description="The manifest's path (named in errors).")
    project: str = Field(max_length=300, description="The dbt project name.")
    dbt_version: str = Field(max_length=64, description="The dbt version that wrote the manifest.")
    schema_version: str = Field(max_length=16, description="The manifest schema version (v12).")
    adapter: str = Field(max_length=64, description="The dbt adapter (duckdb, postgres, …).")
    relations: list[RelationIn] = Field(max_length=100_000)


class LinkedOut(OpenModel):
    """One relation as linked."""

    node: str
    kind: str
    relation: str = Field(description="scheme:name as events name it.")
    target: str = Field(description="What it stands for (namespace#name).")
    function: str | None
    port: str | None = Field(description="product/port it resolves to; null: lake data of no port.")


class DbtLinkOut(OpenModel):
    """What was recorded."""

    product: str
    manifest: str
    project: str
    version: int = Field(description="The id of this link (links are versioned together).")
    links: list[LinkedOut]
    skipped_relations: int = Field(description="Relations of the project's own warehouse, not linked.")


class UnresolvedOut(OpenModel):
    """A dataset identity that resolved to no output port."""

    namespace: str
    name: str
    roles: list[str]
    runs: int
    events: int
    jobs: list[str]
    job_count: int
    last_seen: str | None
    in_lake: bool
    dbt_job: bool
    suggestion: str | None
    external: str | None = None
    """For the datasets of known external systems: the system's description (mesh.yaml ``lineage.externalSystems``)."""


class UnresolvedSummary(ApiModel):
    """Totals."""

    datasets: int
    runs: int
    events: int


class UnresolvedList(OpenModel):
    """Unresolved datasets, most runs first."""

    summary: UnresolvedSummary
    datasets: list[UnresolvedOut]
    external: list[UnresolvedOut] = []
    """Datasets of known external systems: not unresolved, listed apart (at most 100, most runs first)."""


@router.post(
    "/products/{product_id}/dbt-link",
    response_model=DbtLinkOut,
    summary="Link a product's dbt project to lake data",
    **writes(PRODUCT_DOMAIN),
)
def link_dbt(context: Context, caller: Caller, product_id: ProductId, body: DbtLinkIn) -> dict[str, Any]:
    """Replace the product's dbt link: which relations of its dbt project are which lake data (422 naming the node
    when a location is outside the lake; nothing changes then)."""
    links = ManifestLinks.from_dict(body.model_dump(by_alias=True))
    return dbtlink.link_product(context.registry, caller, product_id, links).to_dict()


@router.get("/products/{product_id}/dbt-link", summary="A product's dbt link")
def get_dbt_link(context: Context, product_id: ProductId) -> dict[str, Any]:
    """The product's current dbt link (manifest, who and when, the links); empty when it has none."""
    return dbtlink.product_links(context.registry, product_id)


@router.get("/lineage/unresolved", response_model=UnresolvedList, summary="Datasets that resolved to no port")
def list_unresolved(
    context: Context,
    since: Annotated[Day | None, Query(description="Only datasets seen from this day (YYYY-MM-DD), UTC.")] = None,
    limit: Annotated[int, Query(ge=0, le=10_000, description="Most datasets listed (most runs first)."), DIGITS] = 100,
) -> dict[str, Any]:
    """Dataset identities of lineage events that resolved to no output port: runs, events, jobs, last seen, and a
    suggestion where one is likely (a near-match port, `meshplane dbt link` for a dbt job, a reindex)."""
    start = datetime.combine(since, time(), tzinfo=UTC) if since is not None else None
    return unresolved.unresolved(context.registry, since=start, limit=limit).to_dict()
