"""Render profiles: how drafts and the final video are rendered. ``full`` is what a user publishes;
``fast`` renders everything at draft size, for quick looks and for tests that do not measure full
resolution.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ProfileName = Literal["full", "fast"]


class RenderProfile(BaseModel):
    """How drafts and the final video are rendered: size (a divisor of the aspect's full size), x264
    preset and CRF of each, and the length a request without one gets (None: sized to the copy)."""

    name: ProfileName
    final_divisor: int = Field(ge=1, description="final size = full size / this")
    draft_divisor: int = Field(ge=1, description="draft size = full size / this")
    final_preset: str
    final_crf: int = Field(ge=0, le=51)
    draft_preset: str = "ultrafast"
    draft_crf: int = Field(default=30, ge=0, le=51)
    duration: float | None = Field(default=None, description="seconds, when the request names none")


PROFILES: dict[ProfileName, RenderProfile] = {
    # what a user publishes: 1080 wide, drafts at a third (360x640 for 9:16)
    "full": RenderProfile(name="full", final_divisor=1, draft_divisor=3, final_preset="veryfast", final_crf=20),
    # for tests and quick looks: the final at draft size, drafts at a sixth, a short video
    "fast": RenderProfile(name="fast", final_divisor=3, draft_divisor=6, final_preset="ultrafast", final_crf=28,
                          draft_crf=32, duration=12.0),
}  # fmt: skip
