"""The README's Python example runs as written (the embedding API is what it documents)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.slow
def test_readme_python_example_runs(capsys):
    blocks = python_blocks()
    assert blocks, "README has no python example"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out
    assert out.strip(), "the example prints its results"


def test_readme_quickstart_commands_match_ci():
    text = README.read_text()
    ci = (README.parent / ".ci" / "run").read_text()
    install = re.search(r"^pip install .*$", text, flags=re.M).group(0)
    assert install in ci, "CI must install exactly as the README says"
    assert re.search(r"^pytest$", text, flags=re.M) and re.search(r"^pytest$", ci, flags=re.M)
