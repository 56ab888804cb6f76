"""Validators for how Node-RED's editor stores node properties.

The editor writes an unset field as `""` or `null`, booleans from some
checkboxes as the text "true"/"false", and numbers as text; these turn such
values into what the pydantic models declare. Each returns a pydantic
`field_validator`, used in a Props class body as `_blanks = blank_is_default("a", "b")`.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ValidationInfo, field_validator

from ._jsvalues import parse_float


def _field_default(cls: type[BaseModel], info: ValidationInfo) -> Any:
    assert info.field_name is not None
    return cls.model_fields[info.field_name].default


def blank_is_default(*fields: str) -> Any:
    """`""` or `null` takes the field's declared default."""

    def validate(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
        return _field_default(cls, info) if value is None or value == "" else value

    return field_validator(*fields, mode="before")(classmethod(validate))


def number_or_default(*fields: str) -> Any:
    """A number read as JavaScript's `parseFloat` does; blank or not a number takes the field's default."""

    def validate(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
        number = parse_float(value) if value is not None and value != "" else math.nan
        return _field_default(cls, info) if math.isnan(number) else number

    return field_validator(*fields, mode="before")(classmethod(validate))


def text_boolean(*fields: str) -> Any:
    """A checkbox stored as text: only "true" (any case, trimmed) is true."""

    def validate(cls: type[BaseModel], value: Any) -> Any:
        return value if isinstance(value, bool) else str(value).strip().lower() == "true"

    return field_validator(*fields, mode="before")(classmethod(validate))
