"""Refuse a dataset whose examples would not fit in memory, before building them."""

from __future__ import annotations

from ..errors import DataError
from ..resources import available_memory, gib

#: share of the available memory a dataset's examples may take (training needs the rest)
SHARE = 0.5


def check_fits(nbytes: float, what: str, key: str, source: str) -> None:
    """DataError (tagged with spec ``key``) when ``nbytes`` exceeds half of what is free."""
    available = available_memory()
    if available and nbytes > SHARE * available:
        raise DataError(f"{what} would take about {gib(nbytes)}, more than half of the "
                        f"{gib(available)} of memory available — lower {key}",
                        source=source, path=key)
