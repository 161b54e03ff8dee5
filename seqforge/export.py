"""``seqforge export``: a trained run → a file that serves without seqforge.

Formats:

``torch-export`` (default)
    ``torch.export`` program (``model.pt2``), loaded anywhere torch is with
    ``torch.export.load("model.pt2").module()(x)``. Batch size is dynamic.
``onnx``
    ``model.onnx`` through torch's dynamo ONNX exporter; needs ``onnx`` and
    ``onnxscript`` installed (``pip install onnx onnxscript``).

The exported function is ``x -> out`` on whole (unpadded) batches: x ``(B, T, F)`` floats or
``(B, T)`` token ids, or ``(B, F)`` for vector inputs. Scalers and vocabularies do not
belong in a tensor program; they are written beside it in ``export.json`` (the run's data
description: columns, fitted scalers with the columns they scale, vocabularies, classes)
so a server can apply them. Encoder–decoder decoding is a data-dependent loop and is not
exported. Exporting needs only the run directory, not the training data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import SeqforgeError
from .kinds import Shape

FORMATS = ("torch-export", "onnx")


class ExportError(SeqforgeError):
    """The run cannot be exported in the requested format."""


class _XOnly(nn.Module):
    """Adapts a seqforge model (batch dict → (out, state)) to ``x → out``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model({"x": x})[0]


def example_input(run, batch: int = 2) -> torch.Tensor:
    """A batch of inputs shaped as the model reads them, made from the run's DataInfo
    alone: (B, F) vectors, (B, T) token ids or (B, T, F) floats; T is the dataset's window
    where it has one."""
    info = run.info
    gen = torch.Generator().manual_seed(0)
    steps = 16
    for facet in info.facets.values():
        steps = getattr(facet, "window", None) or steps
    if info.input == Shape.VECTOR:
        x = torch.rand(batch, info.n_features, generator=gen)
    elif info.vocab is not None:  # ids of real tokens, not the specials 0-3
        x = torch.randint(4, max(len(info.vocab), 5), (batch, steps), generator=gen)
    else:
        x = torch.randn(batch, steps, info.n_features, generator=gen)
    return x.to(run.device)


def export_run(run, out_dir: Path, fmt: str = "torch-export") -> dict[str, Any]:
    if fmt not in FORMATS:
        from .errors import unknown_name_message

        raise ExportError(unknown_name_message("export format", fmt, FORMATS))
    if run.spec.model.topology.name == "encoder_decoder":
        raise ExportError("encoder_decoder models decode in a data-dependent loop, which "
                          "seqforge does not export; serve them with seqforge.load_run")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = _XOnly(run.model.eval())
    x = example_input(run)
    dims = {"x": {0: torch.export.Dim("batch", min=1, max=65_536)}}
    with torch.no_grad():
        expected = model(x)
        program = torch.export.export(model, (x,), dynamic_shapes=dims)
    if fmt == "torch-export":
        path = out_dir / "model.pt2"
        torch.export.save(program, path)
        got = torch.export.load(path).module()(x)
    else:
        try:
            import onnx  # noqa: F401
            import onnxscript  # noqa: F401
        except ImportError:
            raise ExportError("ONNX export needs the onnx and onnxscript packages: "
                              "pip install onnx onnxscript") from None
        path = out_dir / "model.onnx"
        torch.onnx.export(program, (x,), str(path), dynamo=True)
        got = None
    meta = {
        "format": fmt,
        "file": path.name,
        "input": {"name": "x", "dtype": str(x.dtype).removeprefix("torch."),
                  "shape": ["batch", *x.shape[1:]]},
        "output_shape": ["batch", *expected.shape[1:]],
        "spec": run.spec.resolved(),
        "data": run.info.to_state(),
    }
    (out_dir / "export.json").write_text(json.dumps(meta, indent=2) + "\n")
    if got is not None and not torch.allclose(got, expected, atol=1e-5, rtol=1e-5):
        raise ExportError("the exported program does not reproduce the model's outputs")
    return {"path": path, "meta": out_dir / "export.json", "example": x, "expected": expected}
