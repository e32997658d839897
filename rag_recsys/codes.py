"""The code type of D-SIDs: a path through a codebook is a list of non-negative integer codes.

One definition for the SID file, the user file and the recommender's history entries. Strict: JSON
``true``, ``1.5`` or ``"3"`` are not codes, and coercing them would hide a broken producer.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError


def _code(value: object) -> int:
    if type(value) is not int or value < 0:
        raise PydanticCustomError("code", "codes are non-negative integers")
    return value


Code = Annotated[int, PlainValidator(_code), WithJsonSchema({"type": "integer", "minimum": 0})]
"""One code of a D-SID path (content or creative): an integer ≥ 0."""
