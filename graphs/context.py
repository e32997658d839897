"""Run context: what a run needs that is not state — tools, policy, tokenizer, folders, render
profiles. Passed through LangGraph's runtime context (never globals), so two runs in one process can
use different back-ends, and Studio (which passes none) gets the offline defaults."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from agents.policy import Policy, RulePolicy
from rag_recsys.tokenizer import DSIDTokenizer
from tools.cache import ToolCache
from tools.models import RenderSettings
from tools.protocols import Composer, Music, Speech, SubtitleWriter, VideoGenerator

ASPECTS: dict[str, tuple[int, int]] = {"9:16": (1080, 1920), "16:9": (1920, 1080), "1:1": (1080, 1080)}
DRAFT_DIVISOR = 3  # drafts at a third of the size: 360×640 for 9:16


@dataclass
class Toolbox:
    video: VideoGenerator
    speech: Speech
    music: Music
    subtitles: SubtitleWriter
    composer: Composer


@dataclass
class RunContext:
    toolbox: Toolbox
    policy: Policy
    home: Path
    max_reflections: int = 2
    final_preset: str = "veryfast"
    final_crf: int = 20
    draft_preset: str = "ultrafast"
    draft_crf: int = 30
    threads: int = field(default_factory=lambda: os.cpu_count() or 2)

    @property
    def cache(self) -> ToolCache:
        return ToolCache(self.home / "cache")

    def run_dir(self, run_id: str) -> Path:
        path = self.home / "runs" / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def render_settings(self, aspect: str, draft: bool) -> RenderSettings:
        w, h = ASPECTS[aspect]
        if draft:
            return RenderSettings(
                width=w // DRAFT_DIVISOR,
                height=h // DRAFT_DIVISOR,
                x264_preset=self.draft_preset,
                crf=self.draft_crf,
                threads=self.threads,
            )
        return RenderSettings(
            width=w, height=h, x264_preset=self.final_preset, crf=self.final_crf, threads=self.threads
        )

    @functools.cached_property
    def tokenizer(self) -> DSIDTokenizer:
        return DSIDTokenizer.load_default()


def default_home() -> Path:
    return Path(os.environ.get("RAGVID_HOME", Path.home() / ".local" / "share" / "ragvid"))


def default_toolbox(cache: ToolCache, tts: str = "piper") -> Toolbox:
    """The embedded offline back-ends (ARCHITECTURE §5)."""
    from tools.composer import FfmpegComposer
    from tools.music import ProceduralMusic
    from tools.speech import make_speech
    from tools.subtitles import AssSubtitles
    from tools.video import make_video_generator

    return Toolbox(
        video=make_video_generator("auto", cache),
        speech=make_speech(tts, cache),
        music=ProceduralMusic(cache),
        subtitles=AssSubtitles(),
        composer=FfmpegComposer(),
    )


def default_context(home: Path | None = None, tts: str = "piper") -> RunContext:
    home = home or default_home()
    return RunContext(toolbox=default_toolbox(ToolCache(home / "cache"), tts), policy=RulePolicy(), home=home)
