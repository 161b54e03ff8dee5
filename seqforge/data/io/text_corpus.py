"""Plain-text corpora for language models: the user's files, or Python's own source.

:func:`stdlib_corpus` exists so a character-level model has a sizeable, real corpus with
no download: the standard library's pure-Python modules are installed wherever Python
is. It is deterministic for a given Python version (files in a fixed order, read as
they are); different Python versions ship slightly different sources.
"""

from __future__ import annotations

import glob
import os
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from ...errors import DataError

STDLIB_SOURCE = "builtin:stdlib"

#: Standard-library files (paths relative to the stdlib directory; globs allowed) read by
#: :func:`stdlib_corpus`, in this order. Chosen because they are real, idiomatic code,
#: pure Python (no C accelerator stands in for them), present in every CPython since 3.8,
#: and change little between releases — about 1 MB together, mixing prose-heavy
#: docstrings (textwrap, argparse) with dense code (json, collections, heapq).
DEFAULT_MODULES: tuple[str, ...] = (
    "textwrap.py",
    "argparse.py",
    "json/*.py",
    "collections/__init__.py",
    "functools.py",
    "dataclasses.py",
    "pathlib.py",
    "string.py",
    "shlex.py",
    "csv.py",
    "heapq.py",
    "bisect.py",
    "fractions.py",
    "statistics.py",
    "calendar.py",
    "difflib.py",
    "pprint.py",
    "contextlib.py",
    "enum.py",
    "random.py",
    "configparser.py",
    "tokenize.py",
    "ast.py",
    "gettext.py",
    "logging/__init__.py",
    "inspect.py",
    "typing.py",
)


def read_text_files(paths: Sequence[str | Path], min_chars: int = 1) -> str:
    """The UTF-8 text of ``paths`` joined in order (a newline between files).

    Raises DataError naming the file when one is missing, a directory, not UTF-8 (with
    the line of the first bad byte) or empty, and naming all of them when the joined
    text is shorter than ``min_chars``.
    """
    if isinstance(paths, (str, Path)):  # one path, not a sequence of characters
        paths = [paths]
    if not paths:
        raise DataError("no text files were given", source="text")
    texts = [_read_one(Path(p)) for p in paths]
    joined = texts[0]
    for text in texts[1:]:
        joined += ("" if joined.endswith("\n") else "\n") + text
    if len(joined) < min_chars:
        names = ", ".join(str(p) for p in paths)
        raise DataError(
            f"has {len(joined):,} characters but at least {min_chars:,} are needed — add more "
            "text or lower the window/sequence length",
            source=names,
        )
    return joined


def _read_one(path: Path) -> str:
    source = str(path)
    if not path.exists():
        raise DataError(f"file not found (looked for {path.resolve()})", source=source)
    if path.is_dir():
        raise DataError("is a directory, not a text file", source=source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot be read: {exc.strerror or exc}", source=source) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); save it "
            "as UTF-8",
            source=source, line=line,
        ) from None
    text = text.removeprefix("\ufeff")  # a byte-order mark is not content
    if not text.strip():
        raise DataError("file is empty", source=source)
    return text


def stdlib_files(modules: Sequence[str] = DEFAULT_MODULES) -> list[Path]:
    """Existing stdlib files for ``modules``, in order; globs expand sorted."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found: list[Path] = []
    for pattern in modules:
        matches = sorted(glob.glob(os.path.join(glob.escape(str(root)), pattern)))
        for m in matches:
            p = Path(m)
            if p.is_file() and p not in found:
                found.append(p)
    return found


def stdlib_corpus(max_chars: int = 2_000_000, modules: tuple[str, ...] = DEFAULT_MODULES) -> str:
    """Source text of the standard-library ``modules``, at most ``max_chars`` characters.

    Files that are missing or unreadable in this Python installation are skipped (some
    distributions split the stdlib); DataError when none is found. The text is cut at
    the last line break before ``max_chars`` so it ends on a whole line.
    """
    if max_chars < 1:
        raise DataError(f"max_chars must be at least 1, got {max_chars}", source=STDLIB_SOURCE)
    parts: list[str] = []
    total = 0
    for path in stdlib_files(modules):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        parts.append(text)
        total += len(text) + 1
        if total >= max_chars:
            break
    if not parts:
        root = sysconfig.get_paths()["stdlib"]
        raise DataError(
            f"none of the standard-library files {', '.join(modules)} were found under {root}",
            source=STDLIB_SOURCE,
        )
    corpus = "\n".join(parts)
    if len(corpus) > max_chars:
        corpus = corpus[:max_chars]
        cut = corpus.rfind("\n")
        if cut > 0:
            corpus = corpus[: cut + 1]
    return corpus
