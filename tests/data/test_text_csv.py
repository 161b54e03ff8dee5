"""text_csv: labelled texts and their errors."""

from __future__ import annotations

import pytest

from seqforge.data.io.csv_text import load_labelled_text
from seqforge.errors import DataError


def write(tmp_path, text):
    path = tmp_path / "reviews.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_happy_path_with_quoted_multiline_text(tmp_path):
    path = write(tmp_path, 'text,label\n"good, really",pos\n"bad\nvery bad",neg\nok,pos\n')
    texts, labels = load_labelled_text(path)
    assert texts == ["good, really", "bad\nvery bad", "ok"]
    assert labels == ["pos", "neg", "pos"]


def test_custom_columns_case_insensitive(tmp_path):
    path = write(tmp_path, "Review,Sentiment\na,1\nb,0\n")
    assert load_labelled_text(path, "review", "sentiment") == (["a", "b"], ["1", "0"])


def error_of(path, **kwargs) -> DataError:
    with pytest.raises(DataError) as err:
        load_labelled_text(path, **kwargs)
    assert "reviews.csv" in str(err.value)
    return err.value


def test_missing_column_names_nearest(tmp_path):
    e = error_of(write(tmp_path, "text,labels\na,x\n"))
    assert "did you mean 'labels'" in str(e) and "text, labels" in str(e)


def test_empty_text_names_line(tmp_path):
    # the multi-line quoted cell makes the bad row start on line 4, not 3
    e = error_of(write(tmp_path, 'text,label\n"a\nb",x\n  ,y\n'))
    assert e.line == 4 and "'text' is empty" in str(e)


def test_empty_label(tmp_path):
    e = error_of(write(tmp_path, "text,label\na,x\nb,\n"))
    assert e.line == 3 and "label" in str(e)


def test_no_rows(tmp_path):
    assert "no data rows" in str(error_of(write(tmp_path, "text,label\n")))


def test_one_class(tmp_path):
    e = error_of(write(tmp_path, "text,label\na,x\nb,x\n"))
    assert "two classes" in str(e) and "'x'" in str(e)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_labelled_text(tmp_path / "reviews.csv")
