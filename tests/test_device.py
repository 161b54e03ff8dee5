"""Device, precision, thread and compile policies — checked without a GPU."""

from __future__ import annotations

import pytest
import torch

from seqforge.engine import device as dev
from seqforge.errors import SpecError


def test_auto_device_is_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert dev.resolve_device("auto").type == "cpu"


def test_asking_for_cuda_without_one_is_a_spec_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SpecError, match="train.device.*no CUDA GPU"):
        dev.resolve_device("cuda")


def test_auto_device_prefers_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dev.resolve_device("auto").type == "cuda"


@pytest.mark.parametrize("bf16,expected", [(True, torch.bfloat16), (False, torch.float16)])
def test_precision_auto_on_cuda(monkeypatch, bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16)
    assert dev.autocast_dtype("auto", torch.device("cuda")) is expected


def test_cpu_stays_fp32_and_explicit_choices_hold():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    for p in ("auto", "bf16", "fp16", "fp32"):
        assert dev.autocast_dtype(p, cpu) is None
    assert dev.autocast_dtype("fp32", cuda) is None
    assert dev.autocast_dtype("bf16", cuda) is torch.bfloat16
    assert dev.autocast_dtype("fp16", cuda) is torch.float16


def test_thread_policy():
    assert dev.choose_threads(3, 32, 50) == 3
    assert dev.choose_threads("auto", 32, 50) == 1  # the stock recipe: tiny steps
    import os

    assert dev.choose_threads("auto", 256, 1024) == max(1, min(os.cpu_count() or 1, 8))


def test_compile_auto_never_compiles_on_cpu():
    model = torch.nn.Linear(2, 2)
    called = []
    chosen, why = dev.choose_compiled(model, lambda m: called.append(m), "auto", torch.device("cpu"))
    assert chosen is model and "eager" in why and not called
    chosen, why = dev.choose_compiled(model, lambda m: None, "off", torch.device("cpu"))
    assert chosen is model and "off" in why


def test_compile_auto_keeps_the_faster(monkeypatch):
    """On CUDA, auto times eager vs compiled and keeps the faster one (timing faked)."""
    model = torch.nn.Linear(2, 2)
    compiled = torch.nn.Linear(2, 2)
    monkeypatch.setattr(torch, "compile", lambda m: compiled)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: None)
    clock = iter([0.0, 3.0, 10.0, 11.0])  # eager 1.0/step, compiled 0.33/step
    monkeypatch.setattr(dev.time, "perf_counter", lambda: next(clock))
    chosen, why = dev.choose_compiled(model, lambda m: None, "auto", torch.device("cuda"))
    assert chosen is compiled and why.startswith("compiled")
    clock2 = iter([0.0, 1.0, 10.0, 19.0])  # compiled slower
    monkeypatch.setattr(dev.time, "perf_counter", lambda: next(clock2))
    chosen, why = dev.choose_compiled(model, lambda m: None, "auto", torch.device("cuda"))
    assert chosen is model and why.startswith("eager")
