"""``seqforge export``: a trained run → a file that serves without seqforge.

Formats:

``torch-export`` (default)
    ``torch.export`` program (``model.pt2``), loaded anywhere torch is with
    ``torch.export.load("model.pt2").module()(x)``. Batch size is dynamic.
``onnx``
    ``model.onnx`` (opset 17) through torch's TorchScript-based exporter — one trace,
    about 1 s for the stock model where the dynamo exporter (``torch.export`` plus its
    decompositions) took 10–60 s; dynamo is the fallback for a model tracing cannot
    export. Needs the ``onnx`` extra (``pip install 'seqforge[onnx]'``).

Both are checked before they are reported written: the exported file (run by
onnxruntime for ONNX) must reproduce the run's model within ``ATOL + RTOL·|y|`` at a batch
size, and — where the model takes sequences of any length — a sequence length, that the
export never saw. Batch (and time) dimensions are dynamic.

The exported function is ``x -> out`` on whole (unpadded) batches: x ``(B, T, F)`` floats or
``(B, T)`` token ids, or ``(B, F)`` for vector inputs. Scalers and vocabularies do not
belong in a tensor program; they are written beside it in ``export.json`` (the run's data
description: columns, fitted scalers with the columns they scale, vocabularies, classes)
so a server can apply them. Encoder–decoder decoding is a data-dependent loop and is not
exported. Exporting needs only the run directory, not the training data.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .engine.quiet import quiet
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


def example_input(run, batch: int = 2, steps: int | None = None) -> torch.Tensor:
    """A batch of inputs shaped as the model reads them, made from the run's DataInfo
    alone: (B, F) vectors, (B, T) token ids or (B, T, F) floats; T is ``steps``, else the
    dataset's window where it has one."""
    info = run.info
    gen = torch.Generator().manual_seed(batch * 1000 + (steps or 0))
    if steps is None:
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


#: the ONNX file must match the run's model within |a - b| <= ATOL + RTOL·|b| (float32:
#: torch's and onnxruntime's LSTM/GRU kernels sum in different orders, ~1e-7 apart)
ATOL, RTOL = 1e-4, 1e-4
#: an unseen batch size for the checks (export traces with batch 2)
CHECK_BATCH = 7


def export_run(run, out_dir: Path, fmt: str = "torch-export", *,
               verbose: bool = False) -> dict[str, Any]:
    """Export ``run``'s model to ``out_dir`` and check the file reproduces it at a batch
    size (and, where the model takes any length, a sequence length) not seen at export.
    Library output (warnings, progress lines) is shown only with ``verbose``."""
    if fmt not in FORMATS:
        from .errors import unknown_name_message

        raise ExportError(unknown_name_message("export format", fmt, FORMATS))
    if run.spec.model.topology.name == "encoder_decoder":
        raise ExportError("encoder_decoder models decode in a data-dependent loop, which "
                          "seqforge does not export; serve them with seqforge.load_run")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # the wrapper in eval mode too: the TorchScript exporter restores the *wrapper's* mode
    # afterwards, recursively — a training-mode wrapper would switch dropout back on
    model = _XOnly(run.model).eval()
    x = example_input(run)
    t0 = time.perf_counter()
    with torch.no_grad(), quiet(verbose, streams=True) as noise:
        expected = model(x)
        try:
            if fmt == "torch-export":
                path, exporter, check = _torch_export(run, model, x, out_dir)
            else:
                path, exporter, check = _onnx(run, model, x, expected, out_dir)
        except ExportError:
            raise
        except Exception as exc:  # the exporter's own failure: say which, show its output
            detail = noise.getvalue().strip()[-2000:]
            raise ExportError(f"{fmt} export failed: {type(exc).__name__}: "
                              f"{str(exc).strip().splitlines()[0][:300]}"
                              + (f"\n{detail}" if detail and verbose else "")) from None
    seconds = time.perf_counter() - t0
    any_time = check.pop("time_dynamic", False)
    meta = {
        "format": fmt,
        "file": path.name,
        "exporter": exporter,
        "export_s": round(seconds, 2),
        "input": {"name": "x", "dtype": str(x.dtype).removeprefix("torch."),
                  "shape": ["batch", *(["time"] if any_time else []), *x.shape[1 + any_time:]]},
        "output_shape": ["batch", *expected.shape[1:]],
        "check": check,
        "spec": run.spec.resolved(),
        "data": run.info.to_state(),
    }
    (out_dir / "export.json").write_text(json.dumps(meta, indent=2) + "\n")
    if check["max_abs_diff"] is not None and not check["ok"]:
        raise ExportError(f"the exported {fmt} file does not reproduce the model: max |Δ| "
                          f"{check['max_abs_diff']:.3g} at batch {check['batch']}"
                          + (f", {check['steps']} steps" if check.get('steps') else "")
                          + f" (tolerance {ATOL} + {RTOL}·|y|)")
    return {"path": path, "meta": out_dir / "export.json", "example": x, "expected": expected,
            "check": check, "seconds": seconds}


def _any_length(run, model: nn.Module, x: torch.Tensor) -> int | None:
    """1 when the model takes sequences of any length (tried at T + 13), else None."""
    if run.info.input == Shape.VECTOR or x.dim() < 2:
        return None
    try:
        model(example_input(run, 2, x.shape[1] + 13))
    except Exception:  # a fixed-length model (e.g. an autoencoder's fixed window)
        return None
    return 1


def _torch_export(run, model, x, out_dir: Path):
    """A ``torch.export`` program; its batch size is dynamic (it specialises on T: the
    fused kernels guard on it), checked at an unseen batch size."""
    dims = {"x": {0: torch.export.Dim("batch", min=1, max=65_536)}}
    program = torch.export.export(model, (x,), dynamic_shapes=dims)
    path = out_dir / "model.pt2"
    torch.export.save(program, path)
    check_x = example_input(run, CHECK_BATCH)
    got = torch.export.load(path).module()(check_x)
    return path, "torch.export", _compare(got, model(check_x), check_x, "torch.export")


def _onnx(run, model, x, expected, out_dir: Path):
    """TorchScript-based ONNX export (one trace: ~1 s for the stock model), the dynamo
    exporter (torch.export + decompositions: ~10x slower) only when tracing fails.

    Time is a dynamic axis where the model takes any length — unless the traced graph
    turns out to fix it (a step loop, a scan unrolled over T): then the ONNX check at an
    unseen length fails, and the file is exported again for the window's length alone."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ExportError("ONNX export needs the onnx extra: pip install 'seqforge[onnx]' "
                          "(onnx, onnxscript, onnxruntime)") from None
    path = out_dir / "model.onnx"
    tries = [True, False] if _any_length(run, model, x) else [False]
    for any_time in tries:
        exporter = _onnx_file(model, x, path, any_time, seq_out=expected.dim() > 2
                              and model(example_input(run, 2, x.shape[1] + 13)).shape[1]
                              == x.shape[1] + 13 if any_time else False)
        model.eval()  # whatever the exporter did to the modules' modes
        any_time = any_time and not _fixed_time(path)  # dynamo specialised T itself
        check_x = example_input(run, CHECK_BATCH, x.shape[1] + 13 if any_time else None)
        check_y = model(check_x)
        try:
            got = _run_onnx(path, check_x)
        except Exception:
            if any_time:
                continue
            raise
        check = _compare(got, check_y, check_x, exporter)
        if any_time and check["ok"] is False:
            continue
        return path, exporter, {**check, "time_dynamic": any_time}
    raise AssertionError("unreachable: the last try returns or raises")


def _onnx_file(model, x, path: Path, any_time: bool, seq_out: bool) -> str:
    """Write ``path``; the exporter that did it. A cell whose fast path cannot be traced
    (a custom autograd kernel) is traced through its reference step loop, computing the
    same function; dynamo is the last resort."""
    axes = {0: "batch", **({1: "time"} if any_time else {})}
    out_axes = {0: "batch", **({1: "time"} if any_time and seq_out else {})}

    def trace() -> None:
        torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["x"],
                          output_names=["out"], dynamic_axes={"x": axes, "out": out_axes},
                          opset_version=17)
    try:
        trace()
        return "torchscript"
    except Exception:
        stacks = [m for m in model.modules() if getattr(m, "use_fast_path", False)]
    try:
        for m in stacks:
            m.use_fast_path = False
        if stacks:
            try:
                trace()
                return "torchscript (step loop)"
            except Exception:
                pass
    finally:
        for m in stacks:
            m.use_fast_path = True
    dims = {k: torch.export.Dim(v, min=1 if k == 0 else 2) for k, v in axes.items()}
    torch.onnx.export(model, (x,), str(path), dynamo=True, dynamic_shapes={"x": dims})
    return "dynamo"


def _fixed_time(path: Path) -> bool:
    """Whether the ONNX graph's input has a fixed length (a number, not a named axis)."""
    import onnx

    dims = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    return len(dims) > 1 and dims[1].HasField("dim_value")


def _run_onnx(path: Path, check_x: torch.Tensor):
    try:
        import onnxruntime as ort
    except ImportError:
        return None  # nothing to check with: export.json says so
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return torch.from_numpy(session.run(None, {name: check_x.cpu().numpy()})[0])


def _compare(out, want: torch.Tensor, check_x: torch.Tensor, exporter: str) -> dict[str, Any]:
    """How the exported file's outputs on the check batch compare with the model's."""
    runtime = "torch.export" if exporter == "torch.export" else "onnxruntime"
    if out is None:
        return {"runtime": None, "ok": None, "max_abs_diff": None,
                "note": "onnxruntime is not installed: pip install 'seqforge[onnx]'"}
    if runtime == "onnxruntime":
        import onnxruntime as ort

        runtime += f" {ort.__version__}"
    sequence = check_x.dim() == 3 or (check_x.dim() == 2 and not check_x.is_floating_point())
    where = {"runtime": runtime, "batch": int(check_x.shape[0]),
             "steps": int(check_x.shape[1]) if sequence else None,
             "tolerance": {"atol": ATOL, "rtol": RTOL}}
    if tuple(out.shape) != tuple(want.shape):
        return {**where, "ok": False, "max_abs_diff": float("inf"),
                "note": f"output shape {list(out.shape)}, expected {list(want.shape)}"}
    want = want.detach().cpu().float()
    diff = (out.detach().cpu().float() - want).abs()
    ok = bool((diff <= ATOL + RTOL * want.abs()).all())
    return {**where, "ok": ok, "max_abs_diff": float(diff.max()) if diff.numel() else 0.0}
