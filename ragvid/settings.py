"""One config object: flags > environment (`RAGVID_*`) > defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAGVID_", extra="ignore")

    home: Path = Field(
        default=Path.home() / ".local" / "share" / "ragvid", description="runs, tool cache and checkpoints live here"
    )
    tts: Literal["piper", "espeak", "edge"] = "piper"
    max_reflections: int = Field(default=2, ge=0, le=2)
    final_preset: str = "veryfast"
    final_crf: int = Field(default=20, ge=0, le=51)
    threads: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1)
    llm: str = Field(default="auto", description="auto, rule, smollm2, or an OpenAI-compatible base URL")
    llm_url: str | None = Field(default=None, description="endpoint `auto` uses when it answers")
    llm_model: str | None = Field(default=None, description="model name; default: the endpoint's first model")
    llm_api_key: str = "none"
    # a CPU model under a grammar writes ~20 tokens/s here: an instruction answer takes about a minute
    llm_timeout: float = Field(default=300.0, gt=0, description="seconds per LLM call")
    llm_response_format: Literal["auto", "json_schema", "json_object_schema", "json_object"] = Field(
        default="auto", description="how JSON is asked for; auto: json_schema, else the llama.cpp form"
    )
