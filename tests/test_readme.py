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


def composing_section() -> str:
    text = README.read_text()
    return text[text.index("## Composing specs"):].split("\n## ", 1)[0]


def test_readme_composing_example_runs_as_written(tmp_path, monkeypatch):
    """The "Composing specs" files, written out, and its commands, run as printed."""
    import shlex

    from typer.testing import CliRunner

    from seqforge.cli import app
    from seqforge.spec.loader import parse_yaml

    section = composing_section()
    files = re.findall(r"```yaml\n# (\S+\.yaml)[^\n]*\n(.*?)```", section, flags=re.S)
    assert [name for name, _ in files] == ["base.yaml", "small_gru.yaml"]
    for name, body in files:
        (tmp_path / name).write_text(body)
    monkeypatch.chdir(tmp_path)
    commands = [line.split("#")[0].strip() for line in
                re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1).splitlines()]
    outputs = []
    for command in filter(None, commands):
        argv = shlex.split(command)
        assert argv[0] == "seqforge"
        res = CliRunner().invoke(app, argv[1:])
        assert res.exit_code == 0, (command, res.output)
        outputs.append(parse_yaml(res.stdout)[0])
    config, printed = outputs
    assert "extends" not in config
    assert config["model"]["cell"] == {"name": "gru", "bias": True}  # the child's cell
    assert config["model"]["hidden_size"] == 16 and config["model"]["num_layers"] == 4
    assert config["train"]["optimizer"]["name"] == "adam"  # "still adam"
    assert config["train"]["optimizer"]["lr"] == 0.003 and config["train"]["epochs"] == 2
    assert printed["train"]["epochs"] == 30 and printed["data"]["window"] == 60
