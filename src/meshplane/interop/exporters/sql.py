"""Export SQL DDL: one ``CREATE TABLE`` per schema object, in a dialect sqlglot writes (--dialect).

Types: the property's `physicalType` when sqlglot reads it, else its `logicalType`'s SQL type;
``NOT NULL`` for required and key columns, ``PRIMARY KEY`` (in key order), ``UNIQUE``.
"""

from __future__ import annotations

from typing import Any

from meshplane.interop import Exported, ExportOptions, InteropError
from meshplane.interop.contracts import dropped_fields, primary_key, tables
from meshplane.interop.types import SQL_OF_LOGICAL

FORMAT = "sql"
DESCRIPTION = "SQL DDL (CREATE TABLE) in a dialect sqlglot writes (--dialect; default: generic SQL)"


def _type(prop: dict[str, Any], dialect: str | None, dropped: list[str], where: str) -> Any:
    from sqlglot import exp
    from sqlglot.errors import ParseError

    physical = prop.get("physicalType")
    if isinstance(physical, str):
        for read in (dialect, None):
            try:
                built = exp.DataType.build(physical, dialect=read)
            except (ParseError, ValueError):
                continue
            if not built.is_type(exp.DataType.Type.USERDEFINED):
                return built
        dropped.append(f"physicalType {physical} of {where} (not a SQL type; the logical type's used)")
    return exp.DataType.build(SQL_OF_LOGICAL.get(str(prop.get("logicalType")), "VARCHAR"))


def write(contract: dict[str, Any], options: ExportOptions) -> Exported:
    """The contract's tables as DDL."""
    import sqlglot
    from sqlglot import exp

    try:
        sqlglot.Dialect.get_or_raise(options.dialect)
    except ValueError as exc:
        raise InteropError(f"--dialect {options.dialect}: {exc}") from None
    dropped = dropped_fields(contract, frozenset({"name", "logicalType", "physicalType", "required", "primaryKey",
                                                  "primaryKeyPosition", "unique"}))  # fmt: skip
    statements: list[str] = []
    for name, props in tables(contract):
        keys = primary_key(props)
        columns: list[exp.Expression] = []
        for prop in props:
            constraints = []
            if prop.get("required") or prop["name"] in keys:
                constraints.append(exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
            if prop.get("unique") and [prop["name"]] != keys:
                constraints.append(exp.ColumnConstraint(kind=exp.UniqueColumnConstraint()))
            kind = _type(prop, options.dialect, dropped, f"{name}.{prop['name']}")
            columns.append(exp.ColumnDef(this=exp.to_identifier(str(prop["name"])), kind=kind, constraints=constraints))
        if keys:
            columns.append(exp.PrimaryKey(expressions=[exp.to_identifier(k) for k in keys]))
        create = exp.Create(this=exp.Schema(this=exp.to_table(name), expressions=columns), kind="TABLE", exists=False)
        text = create.sql(dialect=options.dialect, pretty=True)
        if any(p.get("unique") and [p["name"]] != keys for p in props) and "UNIQUE" not in text.upper():
            dropped.append(f"unique of {name} (no UNIQUE constraint in {options.dialect})")
        if keys and "PRIMARY KEY" not in text.upper():
            dropped.append(f"primary key of {name} (no PRIMARY KEY in {options.dialect})")
        statements.append(text + ";")
    if not statements:
        raise InteropError("the contract has no schema object to write as a table")
    return Exported("\n\n".join(statements) + "\n", dropped)
