"""Spec files are refused before parsing when too big or not regular files.

A FIFO with no writer would block an ordinary ``open``; ``/dev/zero`` never ends. Every
refusal here is a SpecError naming the file (exit status 2 through the CLI); nothing is
read whole. The FIFO tests cannot hang: the loader checks ``stat`` before opening, and
a guard thread writes to (and so releases) the FIFO should anything open it anyway.
"""

from __future__ import annotations

import io
import os
import threading

import pytest
from typer.testing import CliRunner

from seqforge.cli import app
from seqforge.errors import SpecError
from seqforge.spec import loader
from seqforge.spec.loader import MAX_SPEC_BYTES, read_spec_text
from seqforge.spec.validate import load_spec

runner = CliRunner()

fifo_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


def big_spec(path, size=2 * 2**20):
    """A syntactically fine spec that is mostly one long flow list."""
    head = "name: big\nseed: ["
    n = (size - len(head)) // 3
    path.write_text(head + ", ".join(["1"] * n) + "]\n")
    assert path.stat().st_size > MAX_SPEC_BYTES
    return path


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "spec.yaml"
    os.mkfifo(path)
    done = threading.Event()

    def release():  # if the loader ever blocks opening the FIFO, let it go after 10 s
        if not done.wait(10):
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)

    guard = threading.Thread(target=release, daemon=True)
    guard.start()
    yield path
    done.set()
    guard.join()


def test_a_2_mib_spec_is_refused_before_parsing(tmp_path, monkeypatch):
    path = big_spec(tmp_path / "big.yaml")
    parsed = []
    monkeypatch.setattr(loader, "parse_yaml", lambda *a, **k: parsed.append(1))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    text = str(info.value)
    assert str(path) in text and "2.0 MiB" in text and "at most 1 MiB" in text
    assert not parsed


def test_a_spec_just_under_the_limit_is_read(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("name: x\n# " + "." * (MAX_SPEC_BYTES - 12) + "\n")
    assert path.stat().st_size <= MAX_SPEC_BYTES
    assert read_spec_text(path).startswith("name: x")


def test_never_more_than_the_limit_is_read(tmp_path, monkeypatch):
    """A file that grew after the size check is still read to limit + 1 bytes only."""
    path = big_spec(tmp_path / "growing.yaml")
    real_stat = os.stat
    small = list(real_stat(path))
    small[6] = 10  # st_size: what the file was when stat looked
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: os.stat_result(small)
                        if str(p) == str(path) else real_stat(p, *a, **k))
    reads = []

    class CountingFile(io.FileIO):
        def read(self, n=-1):
            reads.append(n)
            return super().read(n)

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: CountingFile(fd, "r"))
    with pytest.raises(SpecError, match="larger than 1 MiB"):
        read_spec_text(path)
    assert reads == [MAX_SPEC_BYTES + 1]


@fifo_only
def test_a_fifo_is_refused_without_blocking(fifo):
    with pytest.raises(SpecError) as info:
        load_spec(fifo)
    assert str(fifo) in str(info.value) and "not a regular file" in str(info.value)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_refused():
    with pytest.raises(SpecError, match="/dev/zero: not a regular file"):
        load_spec("/dev/zero")


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)


@fifo_only
def test_bases_named_by_extends_are_checked_the_same_way(tmp_path, fifo):
    child = tmp_path / "child.yaml"
    child.write_text("seed: 1\nextends: [spec.yaml]\n")
    with pytest.raises(SpecError) as info:
        load_spec(child)
    text = str(info.value)
    assert f"{child}: extends.0 (line 2): base spec {fifo}: not a regular file" in text
    big_spec(tmp_path / "big.yaml")
    child.write_text("extends: big.yaml\n")
    with pytest.raises(SpecError, match=r"extends \(line 1\): base spec .*big.yaml: spec file "
                                         r"is 2.0 MiB"):
        load_spec(child)


@pytest.mark.parametrize("command", ["validate", "run", "config"])
def test_refusals_exit_2_without_traceback(tmp_path, command):
    path = big_spec(tmp_path / "big.yaml")
    for target in [path, "/dev/zero"] if os.path.exists("/dev/zero") else [path]:
        res = runner.invoke(app, [command, str(target)])
        assert res.exit_code == 2, res.output
        assert str(target) in res.output and "Traceback" not in res.output
