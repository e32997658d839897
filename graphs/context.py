"""Run context: what a run needs that is not state — tools, policy, tokenizer, folders, render profile.

Passed through LangGraph's runtime context (never globals), so two runs in one process can use different
back-ends. Values only: the shell (`ragvid.settings.Settings.run_context`, or `ragvid.studio` for Studio)
reads the configuration once and builds this; nothing here reads the environment.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from agents.policy import Policy, RulePolicy
from graphs.state import ASPECTS
from rag_recsys.tokenizers import Tokenizer, default_tokenizer
from tools.cache import ToolCache
from tools.ffmpeg import Ffmpeg, shipped
from tools.limits import MAX_REFLECTIONS
from tools.models import RenderSettings
from tools.profiles import PROFILES, ProfileName, RenderProfile
from tools.protocols import Capabilities, Composer, Music, Speech, SubtitleWriter, VideoGenerator


@dataclass
class Toolbox:
    """The run's tools, each behind its protocol (tools/protocols.py); swap one by passing another object
    that satisfies the protocol."""

    video: VideoGenerator
    speech: Speech
    music: Music
    subtitles: SubtitleWriter
    composer: Composer

    def capabilities(self) -> Capabilities:
        """What these tools support (the agents plan within it)."""
        return Capabilities.of(self.video, self.music, self.composer)


@dataclass
class RunContext:
    """Everything a VGA/RaG run needs besides its state.

    Args:
        toolbox: the tools.
        policy: how agents decide (the rule policy, or `agents.llm_policy.LLMPolicy`).
        home: runs (``home/runs/<run_id>``), the tool cache (``home/cache``) and checkpoints live here.
        max_reflections: reflection rounds after the first draft (0-2).
        profile: render sizes and encoder settings of drafts and the final video.
        threads: encoder threads and the bound on concurrent clip generation.
        ffmpeg: the binary measurements run (the composer and generators hold their own).
    """

    toolbox: Toolbox
    policy: Policy
    home: Path
    max_reflections: int = MAX_REFLECTIONS
    profile: RenderProfile = field(default_factory=lambda: PROFILES["full"])
    threads: int = 2
    ffmpeg: Ffmpeg = field(default_factory=shipped)

    @property
    def cache(self) -> ToolCache:
        """The tool cache at ``home/cache`` (a new handle on each access, over the same files)."""
        return ToolCache(self.home / "cache")

    def run_dir(self, run_id: str) -> Path:
        """``home/runs/<run_id>``, created."""
        path = self.home / "runs" / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def render_settings(self, aspect: str, draft: bool) -> RenderSettings:
        """Encoder settings for a draft or the final render of ``aspect`` under the profile."""
        w, h = ASPECTS[aspect]
        p = self.profile
        divisor, preset, crf = (p.draft_divisor, p.draft_preset, p.draft_crf) if draft else (
            p.final_divisor, p.final_preset, p.final_crf)  # fmt: skip
        # even sizes: x264 with yuv420p needs them
        return RenderSettings(width=w // divisor // 2 * 2, height=h // divisor // 2 * 2, x264_preset=preset, crf=crf,
                              threads=self.threads)  # fmt: skip

    @functools.cached_property
    def tokenizer(self) -> Tokenizer:
        """The shipped D-SID tokenizer, loaded on first use and kept for the context's life."""
        return default_tokenizer()


def default_toolbox(cache: ToolCache, tts: str = "auto", ffmpeg: Ffmpeg | None = None) -> Toolbox:
    """The embedded offline back-ends (ARCHITECTURE §5)."""
    from tools.composer import FfmpegComposer
    from tools.music import ProceduralMusic
    from tools.speech import make_speech
    from tools.subtitles import AssSubtitles
    from tools.video import make_video_generator

    return Toolbox(
        video=make_video_generator("auto", cache, ffmpeg),
        speech=make_speech(tts, cache),
        music=ProceduralMusic(cache),
        subtitles=AssSubtitles(),
        composer=FfmpegComposer(ffmpeg),
    )


def default_context(home: Path, *, tts: str = "auto", profile: ProfileName = "full") -> RunContext:
    """The offline tools and the rule policy, writing under ``home``."""
    return RunContext(
        toolbox=default_toolbox(ToolCache(home / "cache"), tts),
        policy=RulePolicy(),
        home=home,
        profile=PROFILES[profile],
    )
