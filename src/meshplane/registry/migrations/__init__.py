"""Alembic migrations of the registry schema (package data; run by `meshplane.registry.migrate`)."""
