"""PNG plots written into run directories (matplotlib, headless Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot():
    """matplotlib.pyplot on the headless Agg backend (imported on first use: it is slow)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none assumed
    import matplotlib.pyplot as plt

    return plt


def figure(*args: Any, **kwargs: Any):
    """``plt.subplots(*args, **kwargs)`` on the Agg backend: (fig, ax or axes)."""
    return pyplot().subplots(*args, **kwargs)


def _series(history: list[dict[str, Any]], key: str) -> list[float] | None:
    ys = [r.get(key) for r in history]
    if not any(isinstance(y, (int, float)) and not isinstance(y, bool) for y in ys):
        return None
    return [float(y) if isinstance(y, (int, float)) else float("nan") for y in ys]


def learning_curve(history: list[dict[str, Any]], title: str = "", monitor: str | None = None,
                   best_epoch: int | None = None):
    """The figure of :func:`loss_curve`: train/val loss with the learning rate on a second
    axis; the monitored metric below when it is not a loss; the best epoch marked."""
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in history]
    watched = _series(history, monitor) if monitor else None
    separate = watched is not None and monitor not in ("train_loss", "val_loss")
    fig, axes = figure(2 if separate else 1, 1, figsize=(7.5, 6.2 if separate else 4.2),
                       sharex=True, squeeze=False)
    ax = axes[0][0]
    marker = "o" if len(epochs) < 30 else None
    lines = []
    for key, label in (("train_loss", "train loss"), ("val_loss", "validation loss")):
        ys = _series(history, key)
        if ys is not None:
            lines += ax.plot(epochs, ys, marker=marker, markersize=3, label=label)
    ax.set_ylabel("loss (training objective)")
    ax.set_title(f"{title} — learning curve" if title else "learning curve")
    lr = _series(history, "lr")
    if lr is not None:
        ax2 = ax.twinx()
        lines += ax2.plot(epochs, lr, color="tab:gray", linestyle=":", label="learning rate")
        ax2.set_ylabel("learning rate")
        positive = [v for v in lr if v == v and v > 0]
        if positive and max(positive) / min(positive) > 20:
            ax2.set_yscale("log")
        elif positive:  # a constant (or gently scheduled) rate: from 0, so it reads as such
            ax2.set_ylim(0, max(positive) * 1.25)
    target = axes[1][0] if separate else ax
    if separate:
        lines_b = target.plot(epochs, watched, marker=marker, markersize=3, color="tab:green",
                              label=monitor)
        target.set_ylabel(monitor)
    if best_epoch and best_epoch in epochs and (watched or _series(history, "val_loss")):
        ys = watched or _series(history, "val_loss")
        y = ys[epochs.index(best_epoch)]
        mark = target.axvline(best_epoch, color="tab:red", linestyle="--", linewidth=1,
                              label=f"best epoch {best_epoch} ({monitor or 'val_loss'} {y:.4g})")
        target.plot([best_epoch], [y], marker="*", markersize=12, color="tab:red")
        if separate:
            lines_b.append(mark)
        else:
            lines.append(mark)
    ax.legend(lines, [ln.get_label() for ln in lines], loc="upper right", fontsize=8)
    if separate:
        target.legend(lines_b, [ln.get_label() for ln in lines_b], loc="best", fontsize=8)
    for a in axes[:, 0]:
        a.grid(alpha=0.3)
        a.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        if len(epochs) < 3:
            a.set_xticks(epochs)
            a.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    axes[-1][0].set_xlabel("epoch")
    return fig


def loss_curve(history: list[dict[str, Any]], path: Path, title: str = "",
               monitor: str | None = None, best_epoch: int | None = None) -> Path | None:
    """``loss.png``: see :func:`learning_curve`."""
    if not history:
        return None
    return save_figure(learning_curve(history, title, monitor, best_epoch), path)


def save_figure(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return Path(path)
