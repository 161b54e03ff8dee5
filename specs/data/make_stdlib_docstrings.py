"""Build ``stdlib_docstrings.csv``: real English docstrings, labelled by stdlib area.

Every row is the first paragraph of one docstring (module, class or function) from the
pure-Python standard library of the interpreter that runs this script, labelled with
the area of the library it comes from (``email``, ``gui`` …, see ``AREAS``). The task —
"which part of the library does this sentence document?" — is topic classification of
short, real, human-written text: a stand-in for sentiment or news-topic data that needs
no download. Nothing is made up: the ``module`` column says which file each text is from.

Docstrings are read with :mod:`ast`, never imported, so running this has no side
effects. The output is deterministic for a given Python version (files in sorted order,
docstrings in source order); the committed CSV was made with CPython 3.11.7::

    python specs/data/make_stdlib_docstrings.py            # writes next to this script
    python specs/data/make_stdlib_docstrings.py --out x.csv --stdlib /usr/lib/python3.12
"""

from __future__ import annotations

import argparse
import ast
import csv
import sys
import sysconfig
from collections import Counter
from pathlib import Path

#: label → glob patterns under the stdlib folder. Areas were chosen to be distinct in
#: topic yet share vocabulary (every area talks about objects, files, errors, strings),
#: so word identity alone does not give the answer away. IDLE is left out: its
#: docstrings are about a Tk GUI too and would make "gui" ambiguous.
AREAS: dict[str, tuple[str, ...]] = {
    "concurrency": ("asyncio/*.py", "multiprocessing/*.py", "multiprocessing/dummy/*.py",
                    "concurrent/futures/*.py", "threading.py", "queue.py"),
    "email": ("email/*.py", "email/mime/*.py", "mailbox.py", "smtplib.py", "imaplib.py",
              "poplib.py"),
    "files": ("pathlib.py", "os.py", "shutil.py", "tarfile.py", "zipfile.py", "glob.py",
              "tempfile.py", "filecmp.py", "fileinput.py"),
    "gui": ("tkinter/*.py",),
    "testing": ("unittest/*.py", "doctest.py"),
    "web": ("http/*.py", "urllib/*.py", "wsgiref/*.py"),
    "xml": ("xml/**/*.py", "html/*.py"),
}
#: first paragraphs with fewer words are mostly "Return x." stubs that name no topic
MIN_WORDS = 4
#: longer paragraphs are cut at a word boundary; keeps the file small and rows readable
MAX_CHARS = 400


def first_paragraph(doc: str) -> str:
    """The docstring's first paragraph on one line, whitespace collapsed and cut to size."""
    para = " ".join(doc.strip().split("\n\n")[0].split())
    if len(para) > MAX_CHARS:
        para = para[:MAX_CHARS].rsplit(" ", 1)[0]
    return para


def docstrings(path: Path) -> list[str]:
    """First paragraphs of every docstring in one source file, in source order."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nodes = [n for n in ast.walk(tree)
             if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    nodes.sort(key=lambda n: getattr(n, "lineno", 0))  # ast.walk is breadth-first
    out = []
    for node in nodes:
        doc = ast.get_docstring(node)
        if doc:
            text = first_paragraph(doc)
            if len(text.split()) >= MIN_WORDS:
                out.append(text)
    return out


def collect(stdlib: Path) -> list[tuple[str, str, str]]:
    """(text, label, module) rows; a text found in two areas, or twice, is kept at most once."""
    rows: list[tuple[str, str, str]] = []
    labels_of: dict[str, set[str]] = {}
    for label, patterns in AREAS.items():
        files = sorted({p for pat in patterns for p in stdlib.glob(pat)})
        for f in files:
            for text in docstrings(f):
                labels_of.setdefault(text, set()).add(label)
                rows.append((text, label, f.relative_to(stdlib).as_posix()))
    seen: set[str] = set()
    kept = []
    for text, label, module in rows:
        # the same sentence in two areas has no single right answer; drop it everywhere
        if len(labels_of[text]) > 1 or text in seen:
            continue
        seen.add(text)
        kept.append((text, label, module))
    return kept


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stdlib", type=Path, default=Path(sysconfig.get_paths()["stdlib"]),
                    help="standard-library folder to read (default: this interpreter's)")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("stdlib_docstrings.csv"))
    args = ap.parse_args(argv)
    rows = collect(args.stdlib)
    with args.out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label", "module"])
        w.writerows(rows)
    counts = Counter(label for _, label, _ in rows)
    print(f"{len(rows)} rows from {args.stdlib} (Python {sys.version.split()[0]}) → {args.out}")
    for label, n in sorted(counts.items()):
        print(f"  {label:12s} {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
