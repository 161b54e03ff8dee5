"""``train.diagnostics``: what a run records about its own training besides the metrics.

``gradient_flow`` records ‖∂L/∂s_t‖ — the gradient of the loss reaching the recurrent
state at every time step t, per layer — on one fixed batch at chosen epochs, and writes
``gradient_flow.png`` and ``gradient_flow.json`` into the run directory (see
:mod:`seqforge.engine.diagnostics`)::

    train:
      diagnostics: [gradient_flow]                # at the first and the last epoch
      diagnostics:
        - {name: gradient_flow, epochs: [1, 5, last], examples: 16}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from ..errors import unknown_name_message

#: the diagnostics a spec may name
DIAGNOSTICS = ("gradient_flow",)


class GradientFlowSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Literal["gradient_flow"] = "gradient_flow"
    epochs: list[Union[int, Literal["first", "last"]]] = Field(
        default_factory=lambda: ["first", "last"], min_length=1,
        description="epochs to record after: numbers from 1, 'first', 'last' (the epoch "
                    "training ends with, early stopping included)")
    examples: int = Field(16, ge=1, le=4096, description="training examples in the batch "
                          "the gradients are measured on (the first ones of the split)")

    @field_validator("epochs")
    @classmethod
    def _from_one(cls, v: list) -> list:
        low = [e for e in v if isinstance(e, int) and e < 1]
        if low:
            raise PydanticCustomError("epoch_from_one", "epochs count from 1")
        return v


def _named(value: Any) -> Any:
    """``gradient_flow`` alone means its defaults; an unknown name is refused by name."""
    name = value if isinstance(value, str) else (
        value.get("name") if isinstance(value, dict) else None)
    if isinstance(name, str) and name not in DIAGNOSTICS:
        # a custom error: its message is shown as written (no "Value error, " prefix)
        raise PydanticCustomError("unknown_diagnostic",
                                  unknown_name_message("diagnostic", name, DIAGNOSTICS))
    return {"name": value} if isinstance(value, str) else value


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, (str, dict)) else value


#: ``train.diagnostics``: a list of names or mappings (one name alone is a list of one)
Diagnostics = Annotated[list[Annotated[GradientFlowSpec, BeforeValidator(_named)]],
                        BeforeValidator(_listed)]

__all__ = ["DIAGNOSTICS", "Diagnostics", "GradientFlowSpec"]
