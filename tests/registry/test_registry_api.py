"""The registry's public names are the ones `meshplane.registry` lists, and each one is documented."""

from __future__ import annotations

import meshplane.registry as registry


def test_public_names_exist_and_have_docstrings() -> None:
    for name in registry.__all__:
        obj = getattr(registry, name)
        assert getattr(obj, "__doc__", None), f"{name} has no docstring"


def test_public_names_are_sorted_and_unique() -> None:
    assert list(registry.__all__) == sorted(set(registry.__all__))
