"""One config object, read once in the shell: flags > environment (``RAGVID_*``) > defaults.

This is the only module that reads (or writes) the process environment. Everything below the shell —
tools, agents, graphs, the recommender — receives values: `Settings.run_context` builds the run
context the graphs get, `ragvid.studio` does the same for LangGraph Studio, and the CLI passes data and
model folders on. After LangGraph's react-agent template (``context.py``): one object, every field
described.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.errors import InputError, describe
from tools.limits import MAX_REFLECTIONS
from tools.models import SpeechName
from tools.profiles import PROFILES, ProfileName

if TYPE_CHECKING:  # the run context pulls in every layer: `ragvid --help` need not wait for it
    from graphs.context import RunContext

ENV_PREFIX = "RAGVID_"
DEFAULT_DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
"""Where the interaction data sets live unless RAGVID_DATA says otherwise: ``../shared/data`` beside the
repository (they are never shipped)."""


class Settings(BaseSettings):
    """ragvid's configuration. Each field is also ``RAGVID_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    home: Path = Field(
        default=Path.home() / ".local" / "share" / "ragvid", description="runs, tool cache, checkpoints and models"
    )
    tts: SpeechName = Field(
        default="auto", description="speech: auto (piper for English, espeak-ng for other languages), piper, espeak, "
        "edge (online), none (no voice)")  # fmt: skip
    max_reflections: int = Field(default=MAX_REFLECTIONS, ge=0, le=MAX_REFLECTIONS,
                                 description="reflection rounds after the first draft")  # fmt: skip
    profile: ProfileName = Field(default="full", description="render profile: full (1080 wide) or fast (tests)")
    final_preset: str | None = Field(default=None, description="x264 preset of the final render (default: profile's)")
    final_crf: int | None = Field(default=None, ge=0, le=51, description="x264 CRF of the final render")
    threads: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, description="encoder threads")
    ffmpeg: str | None = Field(default=None, description="ffmpeg binary (default: the imageio-ffmpeg wheel's)")
    data: Path = Field(default=DEFAULT_DATA_ROOT, description="root of the interaction data sets (rec train)")
    model: Path | None = Field(default=None, description="model folder the Studio rag graph serves "
                                                         "(default: HOME/models/default)")  # fmt: skip
    llm: str = Field(default="auto", description="auto, rule, smollm2, or an OpenAI-compatible base URL")
    llm_url: str | None = Field(default=None, description="endpoint `auto` uses when it answers")
    llm_model: str | None = Field(default=None, description="model name; default: the endpoint's first model")
    llm_api_key: str = "none"
    # a CPU model under a grammar writes ~20 tokens/s here: an instruction answer takes about a minute
    llm_timeout: float = Field(default=300.0, gt=0, description="seconds per LLM call")
    llm_response_format: Literal["auto", "json_schema", "json_object_schema", "json_object"] = Field(
        default="auto", description="how JSON is asked for; auto: json_schema, else the llama.cpp form"
    )
    api_key: str | None = Field(default=None, description="`ragvid serve`: the key every route but /healthz needs")

    @classmethod
    def load(cls, **given: object) -> Settings:
        """Settings from the flags that were given (None: not given), the environment and the defaults.
        A bad value is an `InputError` naming what the user set: the flag (``--profile``) or the variable
        (``RAGVID_MAX_REFLECTIONS``)."""
        flags = {k: v for k, v in given.items() if v is not None}
        try:
            return cls(**flags)  # type: ignore[arg-type]
        except ValidationError as e:
            err = e.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else ""
            field = f"--{name.replace('_', '-')}" if name in flags else f"{ENV_PREFIX}{name.upper()}"
            raise InputError(field, describe(err)) from None

    @property
    def model_folder(self) -> Path:
        """The model folder `ragvid recommend` and Studio's rag graph use."""
        return (self.model or self.home / "models" / "default").expanduser()

    def run_context(self) -> RunContext:
        """The run context of these settings: offline tools (speech as ``tts``), the rule policy (the shell
        swaps in an LLM policy once inputs are valid), the render profile with any final-render overrides."""
        from agents.policy import RulePolicy
        from graphs.context import RunContext, default_toolbox
        from tools.cache import ToolCache
        from tools.errors import ToolError
        from tools.ffmpeg import Ffmpeg

        home = self.home.expanduser()
        try:
            ffmpeg = Ffmpeg.find(self.ffmpeg)
        except ToolError as e:
            raise InputError(f"{ENV_PREFIX}FFMPEG", str(e)) from None
        final = {"final_preset": self.final_preset, "final_crf": self.final_crf}
        overrides = {k: v for k, v in final.items() if v is not None}
        return RunContext(
            toolbox=default_toolbox(ToolCache(home / "cache"), self.tts, ffmpeg),
            policy=RulePolicy(),
            home=home,
            max_reflections=self.max_reflections,
            profile=PROFILES[self.profile].model_copy(update=overrides),
            threads=self.threads,
            ffmpeg=ffmpeg,
        )


def offline_hub() -> None:
    """No code on the default path may reach a model hub: huggingface_hub and transformers read these
    before they would download anything."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
