"""The demo: `meshplane demo` and everything only it needs (the example holding mesh, its lake, its week).

:mod:`meshplane.demo.steps` is the demo itself: copy ``examples/holding``, generate its lake, lint,
apply, test, play a week of lineage, plan a breaking change; the CLI only prints the steps.
:mod:`meshplane.demo.lakegen` writes, for every contract of the example mesh, a deterministic,
realistic dataset at the location its ``local`` server declares (Parquet, CSV or Iceberg);
:mod:`meshplane.demo.lakedata` holds the column-wise (pyarrow) data generators it uses.
:mod:`meshplane.demo.simulate` sends the week of OpenLineage runs with the real client, to a
:mod:`meshplane.demo.server` (the API on 127.0.0.1 in a thread, which tests use as well).

The package sits above the API in the layers (docs/architecture.md): it drives a real server.
"""
