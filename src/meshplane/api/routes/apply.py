"""Apply route: plan and apply a mesh bundle with the same rules as `meshplane plan` / `meshplane apply`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import ConfigDict, Field, StrictBool, StrictInt

from meshplane.api.bodies import JsonRoute
from meshplane.api.context import ApiContext, get_context
from meshplane.api.params import ApiModel, OpenModel
from meshplane.api.problems import READ_PROBLEMS
from meshplane.api.security import PLAN_DOMAINS, Caller, read_access, writes
from meshplane.service import publishing

router = APIRouter(
    prefix="/api/v1",
    tags=["apply"],
    dependencies=[Depends(read_access)],
    responses=READ_PROBLEMS,
    route_class=JsonRoute,
)

Context = Annotated[ApiContext, Depends(get_context)]


class BundleRequest(ApiModel):
    """A mesh repository as JSON: relative path → YAML text."""

    model_config = ConfigDict(extra="forbid")

    files: dict[str, str] = Field(
        description="Every YAML file of the mesh repository by its relative path: mesh.yaml, "
        "domains/<d>/domain.yaml, domains/<d>/products/<p>/product.odps.yaml, .../contracts/<c>.odcs.yaml.",
        examples=[{"mesh.yaml": "apiVersion: meshplane/v1\nkind: Mesh\nname: holding\n"}],
    )
    prune: StrictBool = Field(
        default=False, description="Retire domains, products and contracts the bundle no longer has."
    )
    dry_run: StrictBool = Field(default=False, description="Only plan: nothing is written.")
    expected_fingerprint: str | None = Field(
        default=None,
        description="The `fingerprint` of the plan the caller reviewed (from a `dryRun`): when the plan is now "
        "another one (the registry changed meanwhile), nothing is written and the answer is 409.",
        max_length=64,
    )
    expected_state: StrictInt | None = Field(
        default=None,
        ge=0,
        description="The `state` of the registry the reviewed plan was computed against (from a `dryRun`): when "
        "another apply has changed the registry since, nothing is written and the answer is 409.",
    )


class BundleResult(OpenModel):
    """The plan, and whether it was applied."""

    dry_run: bool
    applied: bool
    audit_id: int | None
    summary: str
    domains: list[str]
    fingerprint: str
    changes: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    absent: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Domains, products and contracts the registry has and the bundle no longer declares, kept "
        "without `prune`: `{kind, id}`.",
    )
    actor: str = Field(description="Who the plan is for and the audit entry names: the token's name.")
    state: int = Field(
        description="The registry state the plan was computed against (the latest apply's audit entry id, 0 before "
        "any): send it back as `expectedState` to apply only that plan."
    )


@router.post("/apply", response_model=BundleResult, summary="Plan or apply a mesh bundle", **writes(PLAN_DOMAINS))
def apply_bundle(context: Context, caller: Caller, body: BundleRequest) -> dict[str, Any]:
    """Lint, plan and (unless `dryRun`) apply a mesh bundle, all or nothing.

    A plan with errors is refused with 422 (the problem carries the plan); a plan that changed
    while it was being applied, or that is not the `expectedFingerprint` reviewed (or was planned
    against another `expectedState`), is a 409; a
    plan with nothing to do answers `applied: false`.
    """
    outcome = publishing.apply_bundle(
        context.registry,
        caller,
        body.files,
        prune=body.prune,
        dry_run=body.dry_run,
        lake_base=context.lake_base,
        expected_fingerprint=body.expected_fingerprint,
        expected_state=body.expected_state,
    )
    return outcome.to_dict()


__all__ = ["router"]
