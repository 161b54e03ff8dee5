"""text_corpus: user text files and the standard-library corpus."""

from __future__ import annotations

import pytest

from seqforge.data.io.text_corpus import DEFAULT_MODULES, read_text_files, stdlib_corpus, stdlib_files
from seqforge.errors import DataError


def test_reads_and_joins_files_in_order(tmp_path):
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text("first", encoding="utf-8")
    b.write_text("zweite Datei – ü\n", encoding="utf-8")
    assert read_text_files([a, b]) == "first\nzweite Datei – ü\n"
    assert read_text_files(a) == "first"


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError) as err:
        read_text_files([tmp_path / "gone.txt"])
    assert "gone.txt" in str(err.value) and "not found" in str(err.value)


def test_not_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("line one\nline two\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError) as err:
        read_text_files([path])
    assert "latin.txt" in str(err.value) and err.value.line == 3 and "UTF-8" in str(err.value)


def test_empty_file(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(DataError, match="blank.txt.*empty"):
        read_text_files([path])


def test_too_short(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("abc", encoding="utf-8")
    with pytest.raises(DataError, match="short.txt.*at least 100"):
        read_text_files([path], min_chars=100)


def test_no_files():
    with pytest.raises(DataError):
        read_text_files([])


def test_stdlib_corpus_is_real_deterministic_and_capped():
    text = stdlib_corpus(max_chars=50_000)
    assert 45_000 < len(text) <= 50_000
    assert text.endswith("\n")
    assert "def " in text and "import" in text
    assert text == stdlib_corpus(max_chars=50_000)
    assert stdlib_files()[0].name == "textwrap.py"
    assert len(stdlib_corpus()) > 500_000  # the whole default list is about 1.3 MB


def test_stdlib_corpus_skips_missing_but_needs_one():
    assert stdlib_corpus(modules=("no_such_module.py", "textwrap.py"))
    with pytest.raises(DataError, match="builtin:stdlib"):
        stdlib_corpus(modules=("no_such_module.py",))
    with pytest.raises(DataError):
        stdlib_corpus(max_chars=0)
    assert "json/*.py" in DEFAULT_MODULES
