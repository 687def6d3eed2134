"""`meshplane import KIND SOURCE` and `meshplane export FORMAT CONTRACT`: contracts from and to other formats.

What each format maps and drops is in docs/interop.md; the commands say it too (on stderr), so the
written file or standard output holds the contract or the export only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from meshplane.cli.output import EXIT_OK, err_console, report_error
from meshplane.diagnostics import MeshplaneError

DialectOpt = Annotated[
    str | None, typer.Option("--dialect", help="SQL dialect sqlglot reads or writes (postgres, duckdb, spark, …).")
]


def _say(title: str, items: list[str]) -> None:
    if items:
        err_console.print(f"[dim]{title}:[/dim]")
        for item in items:
            err_console.print(f"  [dim]- {escape(item)}[/dim]")


def import_command(
    kind: Annotated[
        str, typer.Argument(help="What SOURCE is: parquet, csv, sql, duckdb, postgres, dbt, jsonschema or avro.")
    ],
    source: Annotated[str, typer.Argument(help="The file to import (for postgres: a postgresql:// URL).")],
    *,
    product: Annotated[
        str | None, typer.Option("--product", help="The product (DOMAIN.PRODUCT) the contract belongs to.")
    ] = None,
    port: Annotated[str | None, typer.Option("--port", help="The output port (and table) name.")] = None,
    dialect: DialectOpt = None,
    table: Annotated[
        str | None,
        typer.Option(
            "--table", help="The table of a database (TABLE or SCHEMA.TABLE), or the dbt node (its unique id or name)."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the contract here (default: standard output).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --output when it exists.")] = False,
) -> None:
    """Write an ODCS contract (v3.1.0, linted clean) from Parquet, CSV, SQL DDL, JSON Schema or Avro.

    Exit 0 when written; 2 for an unknown kind, a source that cannot be read or parsed (nothing written).
    """
    from meshplane.service.interop import import_contract

    try:
        result = import_contract(
            kind, source, product=product, port=port, dialect=dialect, table=table, output=output, overwrite=force
        )
    except MeshplaneError as exc:
        raise typer.Exit(report_error(exc)) from None
    _say("types", result.imported.notes)
    _say("not carried", result.imported.dropped)
    if result.written is None:
        typer.echo(result.text, nl=False)
    else:
        err_console.print(f"created {escape(str(result.written))}")
    raise typer.Exit(EXIT_OK)


def export_command(
    output_format: Annotated[
        str,
        typer.Argument(
            metavar="FORMAT", help="The format to write: sql, jsonschema, avro, dbt-sources, dbt-model or markdown."
        ),
    ],
    contract: Annotated[Path, typer.Argument(help="The ODCS contract file.")],
    *,
    dialect: DialectOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the export here (default: standard output).")
    ] = None,
) -> None:
    """Export an ODCS contract to another format; what the format cannot carry is listed on stderr.

    Exit 0 when written; 2 for an unknown format or a contract that does not load (nothing written).
    """
    from meshplane.service.interop import export_contract_file

    try:
        exported = export_contract_file(output_format, contract, dialect=dialect)
    except MeshplaneError as exc:
        raise typer.Exit(report_error(exc)) from None
    _say("not carried", exported.dropped)
    if output is None:
        typer.echo(exported.text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(exported.text, encoding="utf-8")
        err_console.print(f"written {escape(str(output))}")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `import` and `export` to the CLI."""
    app.command("import")(import_command)
    app.command("export")(export_command)
