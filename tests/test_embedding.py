"""A program that embeds seqforge (and never touches the CLI) works end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "embed_forecast.py"


@pytest.mark.slow
def test_embedding_script(tmp_path):
    res = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "epochs=2" in res.stdout and "persistence_rmse" in res.stdout
    assert res.stderr.strip() == "", "embedded training with quiet=True prints nothing"
    assert list((tmp_path / "embedded").iterdir()), "a run directory was written"


def test_public_api_is_typed():
    import seqforge

    pkg = Path(seqforge.__file__).parent
    assert (pkg / "py.typed").exists()
    for name in seqforge.__all__:
        assert getattr(seqforge, name) is not None
