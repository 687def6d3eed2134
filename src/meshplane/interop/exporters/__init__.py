"""Exporters: one module per target format, found by `meshplane.interop.exporter_modules()`."""
