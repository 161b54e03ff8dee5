"""The embedding API: every arrow of the flow is a function.

>>> spec = load_spec("specs/stock_lstm.yaml", overrides=["train.epochs=1"])  # doctest: +SKIP
>>> run = train(spec, out="runs")                                            # doctest: +SKIP
>>> run.summary["test"], run.summary["baseline"]                             # doctest: +SKIP
>>> run.predict("recent_prices.csv")[:3]                                     # doctest: +SKIP
>>> load_run("runs/stock_lstm/20261201-120000").predict({"Open": [...]})     # doctest: +SKIP

``build`` (:mod:`.build`) turns a spec into data, task and model; ``train``
(:mod:`.training`) trains and writes a run directory; ``load_run`` / ``Run``
(:mod:`.runs`) use a run directory, which needs no training data to predict.
"""

from ..spec.validate import load_spec
from .build import Built, build, build_from_state, dry_run
from .inputs import predict_file
from .runs import Run, evaluate_run, load_run
from .training import make_trainer, train

__all__ = ["load_spec", "build", "build_from_state", "dry_run", "train", "load_run", "Run",
           "Built", "evaluate_run", "predict_file", "make_trainer"]
