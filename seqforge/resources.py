"""What this machine has to give: memory available to a new allocation."""

from __future__ import annotations

import os

GIB = 1024 ** 3


def available_memory() -> int | None:
    """Bytes of memory available without swapping (Linux ``MemAvailable``), or None
    where the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"
