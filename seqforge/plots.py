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


def loss_curve(history: list[dict[str, Any]], path: Path, title: str = "") -> Path | None:
    """Train (and validation) loss per epoch."""
    if not history:
        return None
    fig, ax = figure(figsize=(7, 4))
    epochs = [r["epoch"] for r in history]
    for key in ("train_loss", "val_loss"):
        ys = [r.get(key) for r in history]
        if any(isinstance(y, (int, float)) for y in ys):
            ax.plot(epochs, [y if isinstance(y, (int, float)) else float("nan") for y in ys],
                    marker="o" if len(epochs) < 30 else None, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(f"{title} — loss" if title else "loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def save_figure(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return Path(path)
