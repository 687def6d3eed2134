"""Check types, one module each. A module exposes ``CHECK_TYPE`` (see `meshplane.checks.registry`)."""
