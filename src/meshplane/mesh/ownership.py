"""Ids owned by their domain: the prefix rule of product and contract ids.

An id belongs to the product that declares it, and through it to its domain: a product of domain
``retail`` has an id ``retail.<product>``, a contract of product ``retail.sales`` has an id
``retail.sales.<contract>``. Ports are named inside their product, so they belong to it already.
Lint enforces the rule on a mesh (`meshplane.mesh.crosscheck`); apply refuses a bundle whose ids
fall under the prefix of a domain its caller does not maintain (`meshplane.service.ownership`).
"""

from __future__ import annotations

from collections.abc import Iterable


def owning_domain(identifier: str, domains: Iterable[str]) -> str | None:
    """The domain whose prefix (``<domain>.``) `identifier` falls under: the longest such domain, or None."""
    owner: str | None = None
    for domain in domains:
        if identifier.startswith(f"{domain}.") and (owner is None or len(domain) > len(owner)):
            owner = domain
    return owner


def is_under(identifier: str, prefix: str) -> bool:
    """True when `identifier` is `prefix` (which ends with a dot) followed by at least one character."""
    return identifier.startswith(prefix) and len(identifier) > len(prefix)


def product_prefix(domain: str) -> str:
    """What every product id of `domain` starts with."""
    return f"{domain}."


def contract_prefix(product_id: str) -> str:
    """What every contract id of the product `product_id` starts with."""
    return f"{product_id}."


__all__ = ["contract_prefix", "is_under", "owning_domain", "product_prefix"]
