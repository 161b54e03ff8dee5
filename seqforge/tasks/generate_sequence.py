"""generate_sequence: one input vector → a whole sequence (one-to-many generation).

Two kinds of target, chosen by the dataset:

* **values** (``info.n_targets`` floats per step, e.g. a waveform): MSE loss; RMSE and
  MAE over every target step.
* **tokens** (``info.target_vocab``, e.g. a number's spelling ending in ``<eos>``):
  cross-entropy over the real (non-padding) steps; token accuracy and exact match (the
  whole sequence, ``<eos>`` included, right). Generation reads the most likely token at
  each step and stops at the first ``<eos>``.

Baseline: the dataset's own when it offers one (its items carry the baseline's
prediction as ``baseline`` and the :class:`~seqforge.data.facets.Generation` facet names
it; the waveform dataset draws a sine at the requested frequency), else a model-free one
fitted on the training targets — the per-step mean sequence for values, the per-position
most frequent token for tokens.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.base import columns_of
from ..data.facets import Generation
from ..data.io.rows import write_rows
from ..data.transforms.vocab import EOS_ID, PAD_ID
from ..errors import SpecError
from ..kinds import Shape
from ..plots import figure, save_figure
from .base import ArtifactContext, Batch, Metrics, Task


def _step_mask(batch: dict[str, Any], T: int, device) -> Tensor:
    """(B, T) bool: the steps that are real target steps (not padding)."""
    lengths = batch.get("y_lengths")
    B = batch["y"].shape[0]
    if lengths is None:
        return torch.ones(B, T, dtype=torch.bool, device=device)
    return torch.arange(T, device=device)[None] < lengths.to(device)[:, None]


def value_errors(pred: np.ndarray, true: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """RMSE and MAE over the masked steps of (N, T, F) predictions."""
    err = (pred - true)[mask]  # (steps, F)
    return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err)))}


def token_scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Token accuracy over real steps and exact match per sequence; (N, T) ids, PAD = 0."""
    real = true != PAD_ID  # (N, T)
    right = (pred == true) & real
    return {"token_accuracy": float(right.sum() / max(real.sum(), 1)),
            "exact_match": float(np.mean((right == real).all(axis=1)))}


class GenerationMetrics(Metrics):
    def __init__(self, task: GenerateSequence):
        self.task = task
        self.preds: list[np.ndarray] = []
        self.trues: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []

    def update(self, out: Tensor, batch: dict[str, Any]) -> None:
        y = batch["y"]
        if self.task.tokens:
            self.preds.append(out.argmax(-1).cpu().numpy())  # (B, T)
        else:
            self.preds.append(out.detach().float().cpu().numpy())  # (B, T, F)
            self.masks.append(_step_mask(batch, y.shape[1], y.device).cpu().numpy())
        self.trues.append(y.cpu().numpy())

    def compute(self) -> dict[str, float]:
        if not self.preds:
            return {}
        return self.task.score(_cat(self.preds), _cat(self.trues),
                               _cat(self.masks) if self.masks else None)


def _cat(arrays: list[np.ndarray]) -> np.ndarray:
    """Concatenate batches whose time axis (1) may differ, right-padding with zeros."""
    T = max(a.shape[1] for a in arrays)
    padded = [np.pad(a, [(0, 0), (0, T - a.shape[1])] + [(0, 0)] * (a.ndim - 2)) for a in arrays]
    return np.concatenate(padded)


class GenerateSequence(Task):
    """One vector in, a sequence of values or tokens out (RMSE / exact match vs a baseline)."""

    outputs = (Shape.SEQUENCE,)
    requires = (Generation,)

    def __init__(self, params, info):
        super().__init__(params, info)
        self.gen = info.facet(Generation, needed_by="task 'generate_sequence'")
        self.tokens = info.target_vocab is not None
        if not self.tokens and not info.n_targets:
            raise SpecError("task 'generate_sequence' needs a dataset with sequence targets: "
                            "values per step (waveforms) or tokens (number_spelling)", path="task")
        self.vocab = info.target_vocab
        #: the fitted baseline: (T,) token ids or (T, F) per-step means of training targets
        self._fitted: np.ndarray | None = None

    # -- contract --------------------------------------------------------------------------
    def output_size(self) -> int:
        return len(self.vocab) if self.tokens else int(self.info.n_targets)

    def loss(self, out: Tensor, batch: Batch) -> Tensor:
        y = batch["y"]
        if self.tokens:
            # (B·T, V) vs (B·T,): padding steps are not targets
            return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1),
                                   ignore_index=PAD_ID)
        mask = _step_mask(batch, y.shape[1], y.device)  # (B, T)
        sq = ((out - y) ** 2).mean(-1)  # (B, T)
        return (sq * mask).sum() / mask.sum().clamp(min=1)

    def batch_weight(self, batch: Batch) -> int:
        if self.tokens:
            return int((batch["y"] != PAD_ID).sum())
        return int(batch["y"].shape[0])

    def new_metrics(self, model) -> Metrics:
        return GenerationMetrics(self)

    def score(self, pred: np.ndarray, true: np.ndarray,
              mask: np.ndarray | None) -> dict[str, float]:
        if self.tokens:
            return token_scores(pred, true)
        if mask is None:
            mask = np.ones(true.shape[:2], dtype=bool)
        return value_errors(pred, true, mask)

    # -- baseline --------------------------------------------------------------------------
    def baseline_name(self) -> str:
        if self.gen.baseline_name:
            return self.gen.baseline_name
        if self.tokens:
            return "most frequent token per position"
        return "per-step mean of training targets"

    def fit(self, train) -> None:
        """The model-free baseline from the training targets (unless the data has its own)."""
        if self.gen.baseline_name:
            return
        ytr = _targets(train)
        if self.tokens:
            ids = np.full(ytr.shape[1], EOS_ID)
            for t in range(ytr.shape[1]):
                col = ytr[ytr[:, t] != PAD_ID, t]
                if col.size:
                    ids[t] = np.bincount(col).argmax()
            self._fitted = ids  # (T,)
        else:
            real = _real_steps(train, ytr.shape[1])[..., None]  # (N, T, 1)
            # the average training sequence, over the examples that reach each step
            self._fitted = (ytr * real).sum(0) / np.maximum(real.sum(0), 1)  # (T, F)

    def state_dict(self) -> dict[str, Any]:
        return {"fitted": self._fitted.tolist() if self._fitted is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        f = state.get("fitted")
        self._fitted = np.asarray(f) if f is not None else None

    def baseline_predictions(self, data) -> np.ndarray | None:
        """The baseline's (N, T, F) values or (N, T) tokens for an item dataset."""
        if data is None or len(data) == 0:
            return None
        if self.gen.baseline_name:
            return np.asarray(columns_of(data, "baseline")["baseline"])
        if self._fitted is None:
            return None
        T = _targets(data).shape[1]
        fitted = self._fitted
        if fitted.shape[0] < T:  # longer than any training target: hold the last value
            pad = EOS_ID if self.tokens else fitted[-1:]
            fitted = (np.concatenate([fitted, np.full(T - fitted.shape[0], pad)]) if self.tokens
                      else np.concatenate([fitted, np.repeat(pad, T - fitted.shape[0], 0)]))
        reps = (len(data), 1) if self.tokens else (len(data), 1, 1)
        return np.tile(fitted[None, :T], reps)

    def baseline(self, data) -> dict[str, float]:
        pred = self.baseline_predictions(data)
        if pred is None:
            return {}
        true = _targets(data)
        pred = pred[:, :true.shape[1]]
        mask = None if self.tokens else _real_steps(data, true.shape[1])
        return self.score(pred, true, mask)

    # -- predictions -----------------------------------------------------------------------
    def generate(self, model, batch: Batch) -> np.ndarray:
        """Model outputs for a batch without targets: (B, T, F) values or (B, T) token ids."""
        feed = {k: v for k, v in batch.items() if k != "y"}
        out, _ = model(feed)
        return out.argmax(-1).cpu().numpy() if self.tokens else out.float().cpu().numpy()

    def decode(self, ids) -> str:
        """Token ids → text, up to the first <eos>."""
        ids = list(ids)
        if EOS_ID in ids:
            ids = ids[:ids.index(EOS_ID)]
        return self.gen.joiner.join(self.vocab.decode(ids))

    def _inputs(self, batch: dict[str, Any], i: int) -> dict[str, Any]:
        """The columns that describe example i's request (e.g. kind and freq)."""
        cols = {c: batch[c][i] for c in self.gen.input_columns if c in batch}
        return {c: round(v, 6) if isinstance(v, float) else v for c, v in cols.items()}

    def predict(self, model, batch) -> list[dict[str, Any]]:
        """One row per input: its describing columns, then the generated text or values."""
        gen = self.generate(model, batch)
        rows = []
        for i in range(gen.shape[0]):
            row = self._inputs(batch, i)
            if self.tokens:
                row["prediction"] = self.decode(gen[i])
            else:
                for t in range(gen.shape[1]):
                    for f in range(gen.shape[2]):
                        key = f"y_{t}" if gen.shape[2] == 1 else f"y_{t}_{f}"
                        row[key] = round(float(gen[i, t, f]), 5)
            rows.append(row)
        return rows

    # -- artifacts -------------------------------------------------------------------------
    def artifacts(self, ctx: ArtifactContext) -> list:
        _, ds = ctx.split()
        if ds is None:
            return []
        batch = next(ctx.passes.batches(ds, batch_size=len(ds)))
        # as at inference: no targets, the length the test targets have
        gen = self.generate(ctx.model, {**batch, "steps": int(batch["y"].shape[1])})
        base = self.baseline_predictions(ds)
        if self.tokens:
            return [self._write_spellings(ctx, batch, gen, base)]
        return self._plot_waves(ctx, batch, gen, base)

    def _write_spellings(self, ctx, batch, gen, base):
        true = batch["y"].cpu().numpy()
        path = ctx.run_dir / "spellings.txt"
        lines = [f"# {ctx.summary.get('name', '')}: generated spelling vs truth (test split); "
                 f"✓ = exact match. Baseline ({self.baseline_name()}): "
                 f"{self.decode(base[0])!r} for every input"]
        right = 0
        for i in range(gen.shape[0]):
            said, want = self.decode(gen[i]), self.decode(true[i])
            ok = said == want
            right += ok
            shown = " ".join(f"{k}={v}" for k, v in self._inputs(batch, i).items())
            lines.append(f"{'✓' if ok else '✗'} {shown}: {said}"
                         + ("" if ok else f"   (true: {want})"))
        lines.insert(1, f"# exact: {right}/{gen.shape[0]}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def _plot_waves(self, ctx, batch, gen, base):
        true = batch["y"].cpu().numpy()  # (N, T, F)
        label_col = self.gen.label_column
        labels = batch.get(label_col) if label_col else None
        # two examples per class (lowest and highest frequency) when classes are known
        picks: list[int] = []
        if labels is not None and "freq" in batch:
            for c in dict.fromkeys(labels):
                idx = [i for i, lab in enumerate(labels) if lab == c]
                idx.sort(key=lambda i: batch["freq"][i])
                picks += [idx[0], idx[-1]] if len(idx) > 1 else idx
        else:
            picks = list(range(min(8, gen.shape[0])))
        picks = picks[:8]
        cols = 2
        rows_n = (len(picks) + cols - 1) // cols
        fig, axes = figure(rows_n, cols, figsize=(11, 2.2 * rows_n), squeeze=False,
                                 sharex=True)
        t = np.arange(gen.shape[1])
        for ax, i in zip(axes.flat, picks):
            ax.plot(t, true[i, :, 0], color="black", linewidth=1.4, label="true")
            ax.plot(t, gen[i, :, 0], color="tab:blue", linewidth=1.2, label="generated")
            if base is not None:
                ax.plot(t, base[i, :, 0], color="tab:gray", linewidth=0.8, linestyle="--",
                        label=f"baseline: {self.baseline_name()}")
            ax.set_title(" ".join(f"{k}={v}" for k, v in self._inputs(batch, i).items()),
                         fontsize=9)
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[len(picks):]:
            ax.axis("off")
        # one legend for the figure (every panel draws the same three lines) and one
        # label per axis, on the figure's edges
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper right", ncol=len(labels), fontsize=8)
        fig.supxlabel("time step")
        fig.supylabel("value")
        fig.suptitle(f"{ctx.summary.get('name', '')}: generated vs true (test split)",
                     x=0.02, ha="left")
        files = [save_figure(fig, ctx.run_dir / "generated.png")]
        rows = []
        for i in range(gen.shape[0]):
            row = self._inputs(batch, i)
            row["rmse"] = round(float(np.sqrt(np.mean((gen[i] - true[i]) ** 2))), 5)
            if base is not None:
                row["baseline_rmse"] = round(float(np.sqrt(np.mean((base[i] - true[i]) ** 2))), 5)
            row["generated"] = " ".join(f"{v:.4f}" for v in gen[i, :, 0])
            rows.append(row)
        write_rows(rows, ctx.run_dir / "generations.csv")
        files.append(ctx.run_dir / "generations.csv")
        return files


def _targets(data) -> np.ndarray:
    """(N, T) token ids or (N, T, F) values of an item dataset, right-padded with zeros."""
    return np.asarray(columns_of(data, "y")["y"])


def _real_steps(data, T: int) -> np.ndarray:
    """(N, T) bool: the real (unpadded) target steps of an item dataset."""
    ys = [data[i]["y"] for i in range(len(data))]
    lengths = np.array([y.shape[0] for y in ys])  # (N,)
    return np.arange(T)[None, :] < lengths[:, None]
