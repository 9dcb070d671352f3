"""The product's checks of its public marts, run after the marts are built and before they are published
(`validate_marts`): nothing is quarantined here, a failure (or a missing mart) means "do not publish".

The registry below is the only way a mart suite is found: table → the function that adds its expectations.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from expectations.marts import customer_360, customer_identity_map, dim_customer

MartBuilder = Callable[[Any, Any], None]  # build(suite, ctx)

MART_SUITES: MappingProxyType[str, MartBuilder] = MappingProxyType(
    {
        "customer_identity_map": customer_identity_map.build,
        "dim_customer": dim_customer.build,
        "customer_360": customer_360.build,
    }
)
DESCRIPTIONS = {
    "customer_identity_map": customer_identity_map.__doc__ or "",
    "dim_customer": dim_customer.__doc__ or "",
    "customer_360": customer_360.__doc__ or "",
}
