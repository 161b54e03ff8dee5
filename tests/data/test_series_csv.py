"""series_csv: happy paths and every user-facing error, with file/line/column named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqforge.data.io.builtin_series import load_goog, load_series
from seqforge.data.io.csv_series import Series, load_series_csv, select
from seqforge.errors import DataError

PRICES = """Date,Open,High,Name
2004-01-02,10.0,11.5,a
2004-01-05,10.5,12.0,b
2004-01-06,11.0,12.5,c
"""


def write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_requested_columns_with_dates(tmp_path):
    s = load_series_csv(write(tmp_path, PRICES), ["Open", "High"])
    assert isinstance(s, Series)
    assert s.columns == ["Open", "High"]
    assert s.values.dtype == np.float64 and s.values.shape == (3, 2)
    np.testing.assert_array_equal(s.values[:, 0], [10.0, 10.5, 11.0])
    assert s.dates.dtype == np.dtype("datetime64[D]")
    assert str(s.dates[0]) == "2004-01-02"
    assert s.source.endswith("prices.csv")
    assert len(s) == 3


def test_column_lookup_is_case_insensitive(tmp_path):
    s = load_series_csv(write(tmp_path, PRICES), ["open"])
    assert s.columns == ["Open"]
    assert s.index("OPEN") == 0


def test_unsorted_dates_are_sorted_with_their_rows(tmp_path):
    text = "date,v\n2020-01-03,3\n2020-01-01,1\n2020-01-02,2\n"
    s = load_series_csv(write(tmp_path, text), None)
    assert [str(d) for d in s.dates] == ["2020-01-01", "2020-01-02", "2020-01-03"]
    np.testing.assert_array_equal(s.values[:, 0], [1, 2, 3])


def test_auto_detects_unnamed_iso_date_column(tmp_path):
    text = "day,x\n2020-01-01,1\n2020-01-02,2\n"
    s = load_series_csv(write(tmp_path, text), None)
    assert s.dates is not None and s.columns == ["x"]


def test_no_date_column(tmp_path):
    s = load_series_csv(write(tmp_path, "a,b\n1,2\n3,4\n"), None)
    assert s.dates is None
    assert s.columns == ["a", "b"]
    s = load_series_csv(write(tmp_path, PRICES), ["Open"], date_column=None)
    assert s.dates is None


def test_blank_lines_bom_and_timestamps(tmp_path):
    text = "\ufefftimestamp,v\n2020-01-01T10:00:00,1\n\n2020-01-02 09:30,2\n"
    s = load_series_csv(write(tmp_path, text), ["v"])
    assert [str(d) for d in s.dates] == ["2020-01-01", "2020-01-02"]


def test_select_and_errors():
    goog = load_goog()
    sub = select(goog, ["close", "Open"])
    assert sub.columns == ["Close", "Open"]
    np.testing.assert_array_equal(sub.values[:, 1], goog.values[:, 0])
    with pytest.raises(DataError) as err:
        select(goog, ["Opne"])
    assert "builtin:goog" in str(err.value) and "'Open'" in str(err.value)


def test_load_goog():
    s = load_goog()
    assert s.values.shape == (1047, 6)
    assert s.columns == ["Open", "High", "Low", "Close", "Volume", "AdjClose"]
    assert s.source == "builtin:goog"
    assert str(s.dates[0]) == "2004-08-19"
    assert np.all(s.dates[1:] > s.dates[:-1])
    np.testing.assert_allclose(s.column("open")[:2], [100.0, 101.01])


def test_load_series_dispatch(tmp_path):
    write(tmp_path, PRICES)
    assert load_series("builtin:goog", ["Open"]).columns == ["Open"]
    assert load_series("prices.csv", ["High"], base_dir=tmp_path).columns == ["High"]
    with pytest.raises(DataError, match="did you mean 'builtin:goog'"):
        load_series("builtin:gogo")


# ----------------------------------------------------------------------------- errors


def error_of(path, *args, **kwargs) -> DataError:
    with pytest.raises(DataError) as err:
        load_series_csv(path, *args, **kwargs)
    assert str(path) in str(err.value)  # every message names the file
    return err.value


def test_missing_file(tmp_path):
    e = error_of(tmp_path / "nope.csv", None)
    assert "not found" in str(e)


def test_empty_file(tmp_path):
    e = error_of(write(tmp_path, ""), None)
    assert "empty" in str(e)


def test_header_without_rows(tmp_path):
    e = error_of(write(tmp_path, "date,v\n"), None)
    assert "no data rows" in str(e)


def test_missing_column_names_nearest_and_lists_available(tmp_path):
    e = error_of(write(tmp_path, PRICES), ["Opn"])
    msg = str(e)
    assert "'Opn'" in msg and "did you mean 'Open'" in msg
    assert "Date, Open, High, Name" in msg


def test_non_numeric_cell_names_column_value_and_line(tmp_path):
    text = "date,v\n2020-01-01,1\n2020-01-02,abc\n"
    e = error_of(write(tmp_path, text), ["v"])
    assert e.line == 3
    assert "(line 3)" in str(e) and "'v'" in str(e) and "'abc'" in str(e)


def test_non_numeric_column_when_all_columns_taken(tmp_path):
    e = error_of(write(tmp_path, PRICES), None)
    assert "'Name'" in str(e) and e.line == 2


@pytest.mark.parametrize("cell", ["", "NaN", "nan", "NA"])
def test_missing_value_reports_first_line(tmp_path, cell):
    text = f"date,v,w\n2020-01-01,1,1\n2020-01-02,{cell},2\n2020-01-03,,3\n"
    e = error_of(write(tmp_path, text), ["v"])
    assert e.line == 3 and "'v'" in str(e)


def test_missing_value_in_unrequested_column_is_fine(tmp_path):
    text = "date,v,w\n2020-01-01,1,\n2020-01-02,2,\n"
    s = load_series_csv(write(tmp_path, text), ["v"])
    assert s.values.shape == (2, 1)


def test_infinite_value(tmp_path):
    e = error_of(write(tmp_path, "v\n1\ninf\n"), None)
    assert e.line == 3 and "finite" in str(e)


def test_duplicate_dates(tmp_path):
    text = "date,v\n2020-01-02,1\n2020-01-01,2\n2020-01-02,3\n"
    e = error_of(write(tmp_path, text), None)
    assert "2020-01-02" in str(e) and "lines 2 and 4" in str(e)


def test_bad_date_in_named_date_column(tmp_path):
    text = "Date,v\n2020-01-01,1\n7/24/2004,2\n"
    e = error_of(write(tmp_path, text), None)
    assert e.line == 3 and "'7/24/2004'" in str(e) and "ISO" in str(e)


def test_explicit_date_column_misspelt(tmp_path):
    e = error_of(write(tmp_path, PRICES), ["Open"], date_column="Dat")
    assert "did you mean 'Date'" in str(e)


def test_date_column_as_value_column(tmp_path):
    e = error_of(write(tmp_path, PRICES), ["Date"])
    assert "dates" in str(e)


def test_ragged_row(tmp_path):
    e = error_of(write(tmp_path, "a,b\n1,2\n3\n"), None)
    assert e.line == 3 and "1 cells" in str(e)


def test_trailing_empty_cells_are_tolerated(tmp_path):
    s = load_series_csv(write(tmp_path, "a,b\n1,2,,\n3,4,\n"), None)
    assert s.values.tolist() == [[1, 2], [3, 4]]


def test_duplicate_header(tmp_path):
    e = error_of(write(tmp_path, "a,A\n1,2\n"), None)
    assert "twice" in str(e) and e.line == 1


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,v\ncaf\xe9,1\n".encode("latin-1"))
    e = error_of(path, None)
    assert "UTF-8" in str(e)


def test_directory(tmp_path):
    e = error_of(tmp_path, None)
    assert "directory" in str(e)
