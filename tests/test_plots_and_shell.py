"""Plots a user would rather look at (the learning curve, generated.png) and shell
completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqforge.plots import learning_curve

ROOT = Path(__file__).resolve().parents[1]
#: the console script: completion is keyed to the program's name (_SEQFORGE_COMPLETE)
SEQFORGE = str(Path(sys.executable).parent / "seqforge")


def _history(n=11):
    return [{"epoch": i, "train_loss": 1 / i, "val_loss": 1.2 / i + 0.02 * i,
             "val_accuracy": 0.5 + 0.03 * i, "lr": 1e-3 * 0.5 ** i} for i in range(1, n + 1)]


def _lines(ax):
    return {ln.get_label(): ln for ln in ax.get_lines()}


def test_the_learning_curve_has_losses_lr_best_epoch_and_integer_epochs():
    fig = learning_curve(_history(), "demo", monitor="val_loss", best_epoch=6)
    ax, lr_ax = fig.axes
    assert {"train loss", "validation loss"} <= set(_lines(ax))
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel().startswith("loss")
    assert lr_ax.get_ylabel() == "learning rate" and lr_ax.get_yscale() == "log"  # 0.5^i decay
    best = next(ln for label, ln in _lines(ax).items() if label.startswith("best epoch 6"))
    assert list(best.get_xdata()) == [6, 6]
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 11]
    assert ticks and all(float(t).is_integer() for t in ticks)
    legend = ax.get_legend()
    assert legend is not None and "learning rate" in [t.get_text() for t in legend.get_texts()]


def test_a_monitored_metric_that_is_not_a_loss_gets_its_own_panel():
    fig = learning_curve(_history(), monitor="val_accuracy", best_epoch=10)
    top, bottom, _lr = fig.axes
    assert bottom.get_ylabel() == "val_accuracy" and bottom.get_xlabel() == "epoch"
    assert any(label.startswith("best epoch 10 (val_accuracy") for label in _lines(bottom))


def test_one_epoch_still_reads_as_epoch_1():
    fig = learning_curve(_history(1), monitor="val_loss", best_epoch=1)
    assert list(fig.axes[0].get_xticks()) == [1]
    low, high = fig.axes[1].get_ylim()
    assert low == 0 and high > 1e-3 / 2  # a constant rate drawn from zero


@pytest.mark.slow
def test_generated_png_has_axis_labels_and_one_legend(tmp_path, monkeypatch):
    import seqforge
    import seqforge.tasks.generate_sequence as gs

    figures = {}
    real = gs.save_figure

    def keep(fig, path):
        figures[Path(path).name] = fig
        fig.canvas.draw()
        return real(fig, path)

    monkeypatch.setattr(gs, "save_figure", keep)
    spec = seqforge.load_spec({
        "name": "wave", "data": {"dataset": "waveforms", "n_train": 32, "n_val": 8, "n_test": 8},
        "model": {"topology": "one_to_many", "cell": "lstm", "hidden_size": 8},
        "task": "generate_sequence", "train": {"epochs": 1, "batch_size": 16, "threads": 1}})
    seqforge.train(spec, out=tmp_path)
    fig = figures["generated.png"]
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == ["true", "generated"]
    assert fig._supxlabel.get_text() == "time step" and fig._supylabel.get_text() == "value"


def _complete(words: str, cword: int) -> list[str]:
    env = {**os.environ, "_SEQFORGE_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(cword)}
    res = subprocess.run([SEQFORGE], env=env, capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    return res.stdout.split()


def test_shell_completion_completes_commands_and_options():
    assert _complete("seqforge ru", 1) == ["run", "runs"]
    assert "--host" in _complete("seqforge serve x --ho", 3)
    res = subprocess.run([SEQFORGE, "--show-completion", "bash"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0 and "_SEQFORGE_COMPLETE=complete_bash" in res.stdout
