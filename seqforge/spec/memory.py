"""Will training fit in memory? Estimated from the spec, before anything is allocated.

A recurrent model's training memory is its weights, their gradients, the optimizer's
state (Adam keeps two tensors per weight) and the activations kept for backpropagation
through time: about ``batch × steps × layers × directions × (gates + 2) × hidden`` floats.
The steps come from the dataset's own key for them (``window``, ``seq_len``, ``length``,
``max_len``) when it has one. A spec whose estimate exceeds the memory available is an
error naming the estimate, its parts and the key to lower — never an allocator
traceback minutes later.
"""

from __future__ import annotations

from ..resources import available_memory, gib
from ..registry import Registry
from .schema import DataSpec, ModelSpec, TrainSpec

FLOAT = 4  # bytes: training runs in float32 (mixed precision only lowers activations)
#: optimizer state tensors per weight
OPTIMIZER_STATE = {"adam": 2, "adamw": 2, "rmsprop": 1, "sgd": 1}
#: dataset keys that say how many steps one example has
STEP_KEYS = ("window", "seq_len", "length", "max_len")
#: share of the available memory a run may plan to use
HEADROOM = 0.9


def estimate(reg: Registry, data: DataSpec, model: ModelSpec, train: TrainSpec) -> dict[str, float]:
    """Bytes of weights, gradients, optimizer state and activations (an estimate)."""
    gates = getattr(reg.get("cell", model.cell.name), "num_gates", 1)
    dirs = 2 if model.bidirectional else 1
    H, L = model.hidden_size, model.num_layers
    # layer 0's input width is unknown before the data is read: count it as H
    weights = L * dirs * gates * H * (H * dirs + H + 2)
    if model.embedding:
        weights += model.embedding * 1000  # a vocabulary of ~1000 tokens: an order of size
    params = data.dataset.params
    steps = next((getattr(params, k) for k in STEP_KEYS
                  if isinstance(getattr(params, k, None), int)), None)
    state = OPTIMIZER_STATE.get(train.optimizer.name, 2)
    parts = {"weights": weights * FLOAT, "gradients": weights * FLOAT,
             "optimizer state": state * weights * FLOAT}
    if steps:
        parts["activations"] = (train.batch_size * steps * L * dirs * (gates + 2) * H * FLOAT)
    return parts


def check_memory(ctx, reg: Registry, data: DataSpec, model: ModelSpec,
                 train: TrainSpec, available: int | None = None) -> None:
    """Add a spec error when the estimate exceeds the memory available."""
    available = available_memory() if available is None else available
    if not available:
        return
    parts = estimate(reg, data, model, train)
    total = sum(parts.values())
    if total <= HEADROOM * available:
        return
    worst = max(parts, key=parts.get)
    if worst == "activations":
        key, lower = ("train", "batch_size"), "train.batch_size (or the data's steps, or model.hidden_size)"
    else:
        key, lower = ("model", "hidden_size"), "model.hidden_size (or model.num_layers)"
    shown = ", ".join(f"{k} {gib(v)}" for k, v in parts.items())
    ctx.error(key, f"training this model needs about {gib(total)} ({shown}), more than the "
                   f"{gib(available)} of memory available — lower {lower}")
