"""Demo support: the synthetic data lake behind the ``examples/holding`` example mesh.

:mod:`meshplane.demo.lakegen` writes, for every contract of the example mesh, a deterministic,
realistic dataset at the location its ``local`` server declares (Parquet, CSV or Iceberg);
:mod:`meshplane.demo.lakedata` holds the column-wise (pyarrow) data generators it uses.
"""
