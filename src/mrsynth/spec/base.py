"""The base every spec section derives from: strict, frozen, documented."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A spec section: unknown keys are errors, values are immutable, docs land in the JSON Schema."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        validate_default=True,
        allow_inf_nan=False,  # a spec holds measurable settings; "inf" from --set must not slip through as a float
    )
