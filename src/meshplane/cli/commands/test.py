"""`meshplane test TARGET`: run a contract's checks against its data and report them.

The checks and the service are imported when the command runs, not when the CLI starts, so
other commands do not pay for them; `STARTUP_IMPORTS` lets `meshplane test` load them during the
start-up phase (see `meshplane.cli.app.main`).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from meshplane.cli.output import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    PIPED_WIDTH,
    Column,
    err_console,
    print_table,
    wide_console,
)

if TYPE_CHECKING:
    from meshplane.checks import CheckResult, TestRun
    from meshplane.service.testing import ProgressEvent


#: Loaded in the CLI's start-up phase when this command runs (garbage collection paused).
STARTUP_IMPORTS = ("meshplane.service.testing",)


class OutputFormat(StrEnum):
    """How results are printed."""

    TABLE = "table"
    JSON = "json"
    JUNIT = "junit"
    GITHUB = "github"
    GITLAB = "gitlab"


_STYLE = {
    "passed": ("✓", "green"),
    "warning": ("!", "yellow"),
    "failed": ("✗", "bold red"),
    "error": ("✗", "bold magenta"),
    "skipped": ("-", "dim"),
}
_WORST_FIRST = ("error", "failed", "warning", "passed")


def exit_code(runs: list[TestRun]) -> int:
    """2 when a run could not happen, 1 when a check failed, else 0 (warnings pass)."""
    results = {r.result.value for r in runs}
    if "error" in results:
        return EXIT_USAGE
    if "failed" in results:
        return EXIT_FAILED
    return EXIT_OK


def runs_document(runs: list[TestRun]) -> dict[str, Any]:
    """One run as its object; several as ``{"result": worst, "runs": [...]}``."""
    if len(runs) == 1:
        return runs[0].to_dict()
    results = {r.result.value for r in runs}
    worst = next((s for s in _WORST_FIRST if s in results), "passed")
    return {"result": worst, "runs": [r.to_dict() for r in runs]}


def _observed(value: Any) -> str:
    from meshplane.checks.values import json_value

    shown = json_value(value)
    if shown is None:
        return ""
    return shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)


OBSERVED_WIDTH = 40
"""Longest observed value shown in the table (whole in --format json)."""


def render_runs(runs: list[TestRun], *, verbose: bool = False, wide: bool = False, out: Console | None = None) -> None:
    """One table per run: its failing, erroring and warning checks (every check with `verbose`), then counts.

    Check ids are never cut (`cli.output.print_table`); passing checks are one summary line unless `verbose`.
    """
    say = out or wide_console()
    for run in runs:
        mark, style = _STYLE[run.result.value]
        head = f"{run.contract_id or run.file} {run.contract_version or ''}".strip()
        where = " · ".join(x for x in (run.server and f"server {run.server}", run.engine) if x)
        title = f"[{style}]{mark} {run.result.value}[/{style}] [bold]{escape(head)}[/bold]"
        say.print(f"\n{title} [dim]{escape(where)}[/dim]")
        if run.error:
            say.print(f"  [{style}]{escape(run.error)}[/{style}]")
        if not run.checks:
            continue
        shown = [c for c in run.checks if verbose or c.status.value != "passed"]
        rows = []
        for check in shown:
            mark, style = _STYLE[check.status.value]
            note = f" [dim]({len(check.samples)} sample row(s) in --format json)[/dim]" if check.samples else ""
            message = escape(check.message)
            if check.status.value != "passed":
                message = f"[{style}]{message}[/{style}]{note}"
            observed = _observed(check.observed)
            if len(observed) > OBSERVED_WIDTH:
                observed = observed[: OBSERVED_WIDTH - 1] + "…"
            rows.append(
                [
                    f"[{style}]{mark}[/{style}]",
                    escape(check.spec.id),
                    escape(observed),
                    escape(check.threshold or ""),
                    message,
                ]
            )
        if rows:
            columns = [
                Column("", key=True),
                Column("check", key=True),
                Column("observed", drop=2),
                Column("threshold", drop=1),
                Column("message"),
            ]
            print_table(columns, rows, wide=wide, target=out)
        counts = ", ".join(f"{n} {s}" for s in _STYLE if (n := sum(1 for c in run.checks if c.status.value == s)))
        passing = sum(1 for c in run.checks if c.status.value == "passed")
        hidden = " (--verbose lists the passing ones)" if passing and not verbose else ""
        say.print(f"  {len(run.checks)} checks: {counts}{hidden}")


def object_line(where: str, results: Sequence[CheckResult]) -> str:
    """The progress line of one object (`where` names it, Rich markup): the mark of its worst result.

    ✗ (magenta) when a check could not run (error), ✗ (red) when one failed, ! when one only warned,
    ✓ when all passed; the counts of each kind that is not a pass follow.
    """
    counts = Counter(r.status.value for r in results)
    worst = next((status for status in _WORST_FIRST if counts.get(status)), "passed")
    symbol, style = _STYLE[worst]
    detail = "".join(f", {counts[status]} {status}" for status in ("error", "failed", "warning") if counts.get(status))
    return f"[{style}]{symbol}[/{style}] {where}: {len(results)} checks{detail}"


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[ProgressEvent], None] | None]:
    """Rich progress per object on stderr; a plain line per object when stderr is not a terminal."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn

    from meshplane.service.testing import RunFinished, RunStarted

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def report(event: ProgressEvent) -> None:
        if isinstance(event, RunStarted):
            label = f"testing {event.contract} on {event.server} ({event.engine})"
            tasks[event.contract] = bar.add_task(escape(label), total=max(event.objects, 1))
        elif isinstance(event, RunFinished):
            run = event.run
            key = run.contract_id or ""
            if key in tasks:
                bar.remove_task(tasks.pop(key))
            if run.error:
                err_console.print(f"[magenta]✗[/magenta] {escape(key or str(run.file))}: {escape(run.error)}")
        else:
            where = f"{escape(event.contract)} · {escape(event.object)}"
            err_console.print(object_line(where, event.results))
            if event.contract in tasks:
                bar.advance(tasks[event.contract])

    with bar:
        yield report


def test(
    target: Annotated[
        str | None, typer.Argument(help="A contract file, a contract id or a product id of the mesh.")
    ] = None,
    *,
    all_contracts: Annotated[bool, typer.Option("--all", help="Test every contract of the mesh.")] = False,
    server: Annotated[str | None, typer.Option("--server", help="Server of the contract to test against.")] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", help="Engine to run the checks on (default: the server type's).")
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="table, json, junit, github (Actions annotations) or gitlab (Code Quality)."),
    ] = OutputFormat.TABLE,
    output: Annotated[Path | None, typer.Option("--output", help="Write the report to this file.")] = None,
    mesh: Annotated[
        Path | None, typer.Option("--mesh", help="Mesh folder (default: found from the current folder up).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List passing checks too (default: a count of them).")
    ] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the table, however wide.")] = False,
    record: Annotated[
        bool,
        typer.Option(
            "--record/--no-record",
            help="Store the runs in the mesh's registry when one is configured (MESHPLANE_DATABASE_URL, "
            "mesh.yaml `registry`, or an existing default registry).",
        ),
    ] = True,
    publish: Annotated[
        str | None,
        typer.Option("--publish", help="Also send the runs to this meshplane server URL (token: MESHPLANE_TOKEN)."),
    ] = None,
) -> None:
    """Test data against its contract: schema, quality rules and SLAs, in one scan per dataset.

    Exit 0: passed (warnings allowed); 1: a check failed; 2: a run could not happen, or bad input.
    """
    if all_contracts and target:
        raise typer.BadParameter("give a TARGET or --all, not both", param_hint="TARGET")
    from meshplane.service.testing import record_runs, run_tests
    from meshplane.spec.variables import from_environment

    with _progress(not quiet) as report:
        runs = run_tests(  # variables of the contracts (ODCS v3.2.0 ${NAME}): this shell's environment
            target,
            all_contracts=all_contracts,
            mesh_root=mesh,
            server=server,
            engine=engine,
            progress=report,
            variables=from_environment(os.environ),
        )
    text = ""
    if output_format is OutputFormat.JSON:
        text = json.dumps(runs_document(runs), indent=2, ensure_ascii=False) + "\n"
    elif output_format is OutputFormat.JUNIT:
        from meshplane.checks import junit_xml

        text = junit_xml(runs)
    elif output_format in (OutputFormat.GITHUB, OutputFormat.GITLAB):
        from meshplane.cli.reports import CiReport, emit, from_test_runs, test_summary_lines

        chunks: list[str] = []
        target_name = target or ("--all" if all_contracts else "")
        ci_report = CiReport("test", target_name, from_test_runs(runs), test_summary_lines(runs))
        emit(ci_report, output_format.value, chunks.append)
        text = "".join(chunks)
    if output is not None:
        if output_format is OutputFormat.TABLE:
            with output.open("w", encoding="utf-8") as handle:
                render_runs(
                    runs,
                    verbose=verbose,
                    wide=wide,
                    out=Console(file=handle, width=PIPED_WIDTH, no_color=True, highlight=False),
                )
        else:
            output.write_text(text, encoding="utf-8")
        err_console.print(f"report written to {escape(str(output))}")
    elif output_format is OutputFormat.TABLE:
        render_runs(runs, verbose=verbose, wide=wide)
    else:
        typer.echo(text, nl=False)
    if record:  # after the report: a refusal to record (an unregistered contract) leaves the report shown
        recorded = record_runs(runs, mesh_root=mesh, hint=" (or test with --no-record)")
        if recorded is not None and not quiet:
            err_console.print(f"recorded {recorded.runs} run(s) in the registry {escape(recorded.registry)}")
    if publish:
        from meshplane.api.client import publish_test_runs
        from meshplane.settings import get_settings

        sent = publish_test_runs(publish, get_settings().token, runs)
        err_console.print(f"published {len(sent.ids)} run(s) to {escape(publish)}")
    raise typer.Exit(exit_code(runs))


def register(app: typer.Typer) -> None:
    """Add `test` to the CLI."""
    app.command("test")(test)
