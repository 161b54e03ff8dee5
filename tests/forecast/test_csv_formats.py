"""Real CSVs read as pandas would: date formats (told, inferred, refused when ambiguous),
delimiters, compression, encodings, thousands separators and decimal commas, unused text
columns — with the file, line, column and value named when a cell is bad, the same
with pandas' fast path and without it."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from pathlib import Path

import numpy as np
import pytest

from seqforge.data.io import csv_fast
from seqforge.data.io.csv_options import CsvOptions
from seqforge.data.io.csv_series import load_series_csv
from seqforge.errors import DataError

ROWS = [("2020-01-02", "1,234.5", "AAPL"), ("2020-01-03", "1,240.0", "AAPL"),
        ("2020-01-06", "1,251.25", "AAPL")]


@pytest.fixture(params=["pandas", "line-exact"])
def reader(request, monkeypatch):
    """Every test runs through both readers: results and errors must be the same."""
    if request.param == "line-exact":
        monkeypatch.setattr(csv_fast, "read_series_fast", lambda *a, **k: None)
    else:
        pytest.importorskip("pandas")
    return request.param


def write(tmp_path: Path, text: str, name: str = "p.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def load(path, columns=("Close",), **options):
    date_column = options.pop("date_column", "auto")
    id_column = options.pop("id_column", None)
    return load_series_csv(path, list(columns), date_column, id_column=id_column,
                           options=CsvOptions(**options))


def test_thousands_separator_and_unused_text_column(tmp_path, reader):
    text = "Date,Close,Ticker\n" + "".join(f'{d},"{v}",{t}\n' for d, v, t in ROWS)
    s = load(write(tmp_path, text), thousands=",")
    np.testing.assert_allclose(s.values[:, 0], [1234.5, 1240.0, 1251.25])
    assert str(s.dates[0]) == "2020-01-02"


def test_semicolon_decimal_comma_sniffed(tmp_path, reader):
    text = "Date;Close\n02.01.2020;1.234,5\n03.01.2020;1.240,0\n06.01.2020;7,25\n"
    s = load(write(tmp_path, text), delimiter="auto", thousands=".", decimal=",")
    np.testing.assert_allclose(s.values[:, 0], [1234.5, 1240.0, 7.25])
    assert [str(d) for d in s.dates] == ["2020-01-02", "2020-01-03", "2020-01-06"]


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz", "zip"])
def test_compressed_files(tmp_path, reader, kind):
    text = "date\tClose\n2021-03-01\t1.5\n2021-03-02\t2.5\n".encode()
    path = tmp_path / f"p.tsv.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("p.tsv", text)
    else:
        path.write_bytes({"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[kind](text))
    s = load(path, delimiter="auto")
    assert s.values[:, 0].tolist() == [1.5, 2.5]


def test_encoding(tmp_path, reader):
    text = "Datum,Close,Börse\n2020-01-02,1.0,Zürich\n2020-01-03,2.0,Zürich\n"
    path = write(tmp_path, text, encoding="latin-1")
    with pytest.raises(DataError, match="not UTF-8.*data.encoding"):
        load(path, date_column="Datum")
    assert load(path, date_column="Datum", encoding="latin-1").values[:, 0].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("cells,fmt,first", [
    (["1949-01", "1949-02", "1949-03"], None, "1949-01-01"),
    (["19580329", "19580405", "19580412"], None, "1958-03-29"),
    (["1970 Q1", "1970 Q2", "1970 Q3"], None, "1970-01-01"),
    (["24/07/2004", "25/07/2004", "26/07/2004"], None, "2004-07-24"),
    (["Jul 24, 2004", "Jul 25, 2004", "Jul 26, 2004"], None, "2004-07-24"),
    (["03/04/2020", "04/04/2020", "05/04/2020"], "%d/%m/%Y", "2020-04-03"),
    (["2021-05-01 00:00:00+02:00", "2021-05-01 00:30:00+02:00", "2021-05-01 01:00:00+02:00"],
     None, "2021-04-30T22:00:00"),
])
def test_date_formats(tmp_path, reader, cells, fmt, first):
    text = "date,Close\n" + "".join(f'"{c}",{i}\n' for i, c in enumerate(cells))
    s = load(write(tmp_path, text), date_format=fmt)
    assert str(s.dates[0]) == first


def test_ambiguous_dates_are_refused_naming_the_formats(tmp_path, reader):
    text = "date,Close\n03/04/2020,1\n04/04/2020,2\n05/04/2020,3\n"
    with pytest.raises(DataError) as err:
        load(write(tmp_path, text))
    msg = str(err.value)
    assert "%m/%d/%Y" in msg and "%d/%m/%Y" in msg and "data.date_format" in msg


def test_bad_cell_in_compressed_file_names_line_column_and_value(tmp_path, reader):
    text = "date,Close,Ticker\n2020-01-01,1\n2020-01-02,x1,A\n".replace(",1\n", ",1,A\n")
    path = tmp_path / "p.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(DataError) as err:
        load(path)
    e = err.value
    assert e.line == 3 and "'Close'" in str(e) and "'x1'" in str(e) and str(path) in str(e)


def test_undecodable_line_is_named(tmp_path, reader):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"date,Close\n2020-01-01,1\n2020-01-02,2\xff\n")
    with pytest.raises(DataError) as err:
        load(path)
    assert err.value.line == 3


def test_bad_date_names_its_format(tmp_path, reader):
    text = "date,Close\n2020-01-01,1\n2020-01-02,2\n2020-13-45,3\n"
    with pytest.raises(DataError) as err:
        load(write(tmp_path, text))
    assert err.value.line == 4 and "'2020-13-45'" in str(err.value)


def test_long_format_groups_series_and_sorts_each(tmp_path, reader):
    text = ("store,date,sales\nb,2020-01-02,5\na,2020-01-02,2\na,2020-01-01,1\n"
            "b,2020-01-01,4\n")
    s = load(write(tmp_path, text), columns=["sales"], id_column="store")
    assert s.ids.tolist() == ["b", "b", "a", "a"]
    assert s.values[:, 0].tolist() == [4, 5, 1, 2]
    dup = "store,date,sales\na,2020-01-01,1\na,2020-01-01,2\n"
    with pytest.raises(DataError, match="of series 'a' appears twice"):
        load(write(tmp_path, dup, "d.csv"), columns=["sales"], id_column="store")


def test_a_million_rows_parse_the_same_both_ways(tmp_path):
    """Parity on a larger file with every option at once (a cheap stand-in for the
    benchmark's million rows)."""
    pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    days = np.datetime64("2000-01-01") + np.arange(3000)
    vals = rng.normal(1000, 300, size=(3000, 2))
    lines = ["Date;A;B;Name"] + [f"{d};{a:,.3f};{b:,.3f};x".replace(",", "_").replace(".", ",")
                                 .replace("_", ".") for d, (a, b) in zip(days, vals)]
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    opts = CsvOptions(delimiter="auto", thousands=".", decimal=",")
    fast = csv_fast.read_series_fast(path, ["A", "B"], "auto", None, opts)
    assert fast is not None
    slow = load_series_csv.__wrapped__ if hasattr(load_series_csv, "__wrapped__") else None
    from seqforge.data.io.csv_series import series_from_table
    from seqforge.data.io.table import read_table

    slow = series_from_table(read_table(path, opts), ["A", "B"], "auto", None, opts)
    np.testing.assert_array_equal(fast.values, slow.values)
    np.testing.assert_array_equal(fast.dates, slow.dates)
    np.testing.assert_allclose(fast.values, np.round(vals, 3))
