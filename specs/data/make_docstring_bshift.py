"""Build ``docstring_bshift_{train,val,test}.csv``: real docstring sentences, half with two neighbouring
words swapped — "is the word order as written?" (SentEval's *bigram shift* probe,
Conneau et al. 2018, on text that ships with Python).

Every row is one prose sentence from a docstring of the pure-Python standard library of
the interpreter that runs this script (8–30 words, from a capital letter to a full stop,
mostly words — code, doctests and tables are skipped), read with :mod:`ast`, never imported. A
``swapped`` row has two adjacent, different words swapped at a seeded position; an
``original`` row is as written. Both classes hold the same words, so a bag of words
cannot tell them apart; a bag of word *bigrams* sees the one odd pair, a sequence model
reads the order. The sentences are cut 70 / 10 / 20 into three files (no sentence in two):
``…_val.csv`` and ``…_test.csv`` hold each sentence once, as written or swapped by a
seeded coin; ``…_train.csv`` holds each of its sentences twice, in both orders. The
``module`` column names each sentence's file. Deterministic for a given Python version
(files sorted, seeded generators); the committed files were made with CPython 3.11.7::

    python specs/data/make_docstring_bshift.py            # writes next to this script
    python specs/data/make_docstring_bshift.py --out DIR --stdlib /usr/lib/python3.12
"""

from __future__ import annotations

import argparse
import ast
import csv
import random
import re
import sys
import sysconfig
from collections import Counter
from pathlib import Path

#: folders left out: tests (machine-made strings), IDLE, bundled third-party packages
SKIP_PARTS = {"test", "tests", "idlelib", "site-packages", "lib2to3"}
MIN_WORDS, MAX_WORDS = 8, 30
SEED = 0
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def prose_sentences(doc: str) -> list[str]:
    """The prose sentences of one docstring (paragraphs of code, doctests, lists,
    directives and indented blocks are skipped)."""
    out = []
    for para in doc.split("\n\n"):
        lines = para.strip("\n").split("\n")
        if any(ln.startswith((" ", "\t")) for ln in lines[1:]) or para.lstrip().startswith(
                (">>>", "..", ":", "-", "*", "|", "=")):
            continue
        for s in _SENTENCE_END.split(" ".join(para.split())):
            words = s.split()
            wordy = sum(w.strip(".,;:()'\"").isalpha() for w in words) >= 0.8 * len(words)
            if MIN_WORDS <= len(words) <= MAX_WORDS and s[0].isupper() and s.endswith(".") \
                    and wordy:
                out.append(s)
    return out


def collect(stdlib: Path) -> list[tuple[str, str]]:
    """(sentence, module) for every prose sentence, each sentence once, in file order."""
    seen: set[str] = set()
    rows = []
    for f in sorted(stdlib.rglob("*.py")):
        if SKIP_PARTS & set(f.relative_to(stdlib).parts):
            continue
        try:
            tree = ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
        except (SyntaxError, UnicodeDecodeError):
            continue
        nodes = [n for n in ast.walk(tree) if isinstance(
            n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
        nodes.sort(key=lambda n: getattr(n, "lineno", 0))
        for node in nodes:
            for s in prose_sentences(ast.get_docstring(node) or ""):
                if s not in seen:
                    seen.add(s)
                    rows.append((s, f.relative_to(stdlib).as_posix()))
    return rows


def swap_adjacent(sentence: str, rng: random.Random) -> str | None:
    """The sentence with words i, i+1 swapped (a seeded i where the two differ)."""
    words = sentence.split()
    options = [i for i in range(len(words) - 1) if words[i].lower() != words[i + 1].lower()]
    if not options:
        return None
    i = rng.choice(options)
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def label_rows(rows: list[tuple[str, str]], seed: int = SEED,
               both: bool = False) -> list[tuple[str, str, str]]:
    """(text, label, module): each sentence as written or swapped, by a seeded coin — or,
    with ``both``, each sentence twice, as written and swapped (a training set of pairs:
    the same words in two orders, so only the order tells the classes apart)."""
    rng = random.Random(seed)
    out = []
    for sentence, module in rows:
        swapped = swap_adjacent(sentence, rng)
        if swapped is None:
            continue
        if both:
            out += [(sentence, "original", module), (swapped, "swapped", module)]
        else:
            out.append((swapped, "swapped", module) if rng.random() < 0.5
                       else (sentence, "original", module))
    return out


def split_rows(rows: list[tuple[str, str]], seed: int = SEED
               ) -> dict[str, list[tuple[str, str, str]]]:
    """Sentences shuffled (seeded) and cut 70 / 10 / 20 into train / val / test, so no
    sentence is in two files; train holds each of its sentences in both orders."""
    order = list(rows)
    random.Random(seed).shuffle(order)
    n_val, n_test = len(order) // 10, len(order) // 5
    parts = {"test": order[:n_test], "val": order[n_test:n_test + n_val],
             "train": order[n_test + n_val:]}
    return {name: label_rows(part, seed + k, both=name == "train")
            for k, (name, part) in enumerate(parts.items())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stdlib", type=Path, default=Path(sysconfig.get_paths()["stdlib"]),
                    help="standard-library folder to read (default: this interpreter's)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent,
                    help="folder for docstring_bshift_{train,val,test}.csv")
    args = ap.parse_args(argv)
    rows = collect(args.stdlib)
    print(f"{len(rows)} sentences from {args.stdlib} (Python {sys.version.split()[0]})")
    for name, part in split_rows(rows).items():
        path = args.out / f"docstring_bshift_{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["text", "label", "module"])
            w.writerows(part)
        counts = Counter(label for _, label, _ in part)
        print(f"  {path}: {len(part)} rows, "
              + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
