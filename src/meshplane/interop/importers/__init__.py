"""Importers: one module per source kind, found by `meshplane.interop.importer_modules()`."""
