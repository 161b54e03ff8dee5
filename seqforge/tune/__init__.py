"""Hyperparameter search over any spec key, on Optuna: ``seqforge tune SPEC``.

:mod:`.job` reads the spec and its ``tune:`` section (validated by
:mod:`seqforge.spec.tune` before any trial runs) and lays out the study directory;
:mod:`.storage` opens where the study lives (a journal file in the study directory by
default, or any storage URL several workers share); :mod:`.objective` turns one Optuna
trial into an ordinary training run, pruned from its per-epoch validation metric;
:mod:`.worker` runs trials until the study has its total; :mod:`.report` writes the
trials table, the best spec and the plot.
"""

from .job import TuneError, TuneJob, prepare
from .worker import run_worker

__all__ = ["TuneError", "TuneJob", "prepare", "run_worker"]
