"""What some tasks need a model to do besides ``forward(batch)``, as protocols.

A topology whose models implement one lists it in ``implements``; a task that needs it
lists it in ``model_protocols``, so ``seqforge validate`` refuses a mismatch from the spec,
and the task checks the built model with ``isinstance`` (the protocols are runtime
checkable) instead of probing attributes.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor


@runtime_checkable
class StepDecoder(Protocol):
    """An encoder–decoder that can decode one token at a time (greedy, beam search).

    ``encode(batch) -> (memory (B, S, H), mask (B, S) | None, state)``;
    ``start_token(B, device) -> (B, 1)`` ids (or (B, 1, F) values);
    ``decode_step(prev, state, memory, mask) -> (out (B, O), state[, attention (B, S)])``.
    """

    def encode(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor | None, Any]: ...

    def start_token(self, B: int, device: Any) -> Tensor: ...

    def decode_step(self, prev: Tensor, state: Any, memory: Tensor, mask: Tensor | None,
                    **kwargs: Any) -> Any: ...


__all__ = ["StepDecoder"]
