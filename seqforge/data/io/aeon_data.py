"""Public benchmark files that the ``aeon`` package ships (``pip install 'seqforge[series]'``).

aeon 1.6's wheel carries a few UCR/UEA classification problems (ArrowHead, BasicMotions,
JapaneseVowels, OSULeaf, PickupGestureWiimoteZ, ACSF1 …) and two labelled anomaly series
(KDD-TSAD_135 from the UCR anomaly archive, Daphnet_S06R02E0) in ``aeon/datasets/data``.
A spec names one as ``builtin:aeon/<folder>/<file>``, e.g.
``builtin:aeon/ArrowHead/ArrowHead_TRAIN.ts``. The file is found through the installed
package's location — aeon itself (and numba) is never imported, and nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ...errors import DataError, nearest

PREFIX = "builtin:aeon/"


def is_aeon(source: str) -> bool:
    return isinstance(source, str) and source.startswith(PREFIX)


def aeon_data_dir() -> Path:
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the aeon package is not installed; its bundled benchmark files need "
                        "pip install 'seqforge[series]'", source=PREFIX.rstrip("/"))
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


def aeon_file(source: str) -> Path:
    """The path of ``builtin:aeon/<folder>/<file>``; a DataError naming the nearest one."""
    rel = source[len(PREFIX):]
    root = aeon_data_dir()
    path = root / rel
    if ".." in Path(rel).parts or not path.is_file():
        have = sorted(str(p.relative_to(root)) for p in root.glob("*/*") if p.is_file())
        guess = nearest(rel, have)
        raise DataError("no such file in aeon's bundled data"
                        + (f" — did you mean {PREFIX}{guess}?" if guess else "")
                        + f" ({len(have)} files under {root})", source=source)
    return path


__all__ = ["PREFIX", "is_aeon", "aeon_data_dir", "aeon_file"]
