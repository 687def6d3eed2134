"""`meshplane demo`: the example holding mesh, its lake, and a tour; with ``--serve``, the cockpit on it."""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_FAILED, EXIT_USAGE, console, err_console

if TYPE_CHECKING:
    from meshplane.demo.steps import DemoOptions


def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Working folder (created; reset if made by a previous demo).")
    ] = Path("demo-work"),
    rows: Annotated[
        int,
        typer.Option(
            min=10,
            max=10_000_000,
            help="Rows of the largest generated table (the generator keeps its patterns valid up to 10M).",
        ),
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the deterministic data generator.")] = 7,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Then serve the web cockpit and the API on the demo's registry (127.0.0.1) until Ctrl-C or SIGTERM.",
        ),
    ] = False,
    port: Annotated[
        int | None,
        typer.Option("--port", min=0, max=65535, help="With --serve: the TCP port (default: a free one)."),
    ] = None,
) -> None:
    """Copy the example mesh (5 domains of a holding group), generate its lake and run meshplane on it."""
    from meshplane.demo.steps import DemoOptions, run_demo, tour

    if port is not None and not serve:
        err_console.print("[red]error:[/red] --port needs --serve")
        raise typer.Exit(EXIT_USAGE)
    listener = listen(port or 0) if serve else None  # a port in use is told before the demo, not after it
    ok = True
    for index, step in enumerate(run_demo(DemoOptions(directory, rows, seed)), start=1):
        mark = "[green]✓[/green]" if step.ok else "[red]✗[/red]"
        console.print(f"\n{mark} [bold]{index}. {escape(step.title)}[/bold]")
        for line in step.lines:
            console.print(f"   {escape(line)}")
        ok = ok and step.ok
    console.print("\n[bold]Try next:[/bold]")
    for command in tour(directory):
        console.print(f"  {escape(command)}")
    if not ok:
        if listener is not None:
            listener.close()
        raise typer.Exit(EXIT_FAILED)
    if listener is not None:
        serve_cockpit(DemoOptions(directory, rows, seed), listener)


def listen(port: int) -> socket.socket:
    """A socket bound to 127.0.0.1:`port` (0: a free one); a port in use is a usage error (exit 2)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as exc:
        listener.close()
        err_console.print(f"[red]error:[/red] cannot listen on 127.0.0.1:{port}: {escape(exc.strerror or str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    return listener


def serve_cockpit(options: DemoOptions, listener: socket.socket) -> None:
    """Serve the cockpit and API on the demo's registry on `listener` (bound to 127.0.0.1), print its URL and a
    sign-in token, and run until SIGINT or SIGTERM (then stop cleanly: exit 0)."""
    import uvicorn

    from meshplane.access import Principal
    from meshplane.api.app import create_app
    from meshplane.api.protocol import BoundedHttpToolsProtocol
    from meshplane.cli.commands.serve import log_config
    from meshplane.demo.steps import demo_registry
    from meshplane.service.tokens import create_token
    from meshplane.settings import get_settings

    listener.listen(128)  # connections wait in the backlog from now on, until the server accepts them
    registry = demo_registry(options)
    try:
        token = create_token(registry, Principal.local_admin("demo"), role="admin", name="demo cockpit").token
        settings = get_settings().model_copy(update={"anonymous_read": True})  # the demo's data, on loopback only
        app = create_app(registry, settings=settings, mesh=options.work_dir / "mesh")
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        console.print(f"\n[bold]Cockpit:[/bold] {url}", highlight=False, soft_wrap=True)
        console.print(f"   sign in (admin) with the token {token}", markup=False, highlight=False, soft_wrap=True)
        console.print("   Ctrl-C stops it", markup=False)
        sys.stdout.flush()
        stopped: list[int] = []
        for sig in (signal.SIGINT, signal.SIGTERM):  # uvicorn re-raises the signal after its shutdown: end here
            signal.signal(sig, lambda number, _frame: stopped.append(number))
        config = uvicorn.Config(
            app, http=BoundedHttpToolsProtocol, log_level="warning", log_config=log_config("warning")
        )
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        listener.close()
        registry.close()
    console.print("cockpit stopped", markup=False)


def register(app: typer.Typer) -> None:
    """Add `demo` to the CLI."""
    app.command("demo")(demo)
