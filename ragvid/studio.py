"""Entry points for `langgraph.json` (LangGraph Studio / `langgraph dev`): `vga` (SID → video) and `rag`
(user → recommender → VGA subgraph → video); see docs/studio.md.

This is the shell for Studio, as the CLI is for the command line: it reads the settings once (`Settings`,
``RAGVID_*``) and builds the run context from them. Exported without a checkpointer: the dev server
supplies its own and refuses graphs that bring one.

The dev server always passes a runtime context — the assistant's, `{}` unless set in Studio — and
LangGraph builds the graph's context schema from it (`schema(**context)`). `RunContext` cannot be built
that way (its tool box and policy are objects, not JSON), nor can Studio draw a form for it, so the
Studio graphs use `StudioContext`: a `RunContext` whose every field has a default from the settings and
whose JSON knobs (speech back-end, reflection rounds, render profile, home) are what Studio's context form
shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic.json_schema import SkipJsonSchema

from graphs.context import RunContext
from graphs.rag import build_rag_graph
from graphs.vga import build_vga_graph
from rag_recsys.recommender import Recommender, ScoredDSID, UserContext
from ragvid.settings import Settings, offline_hub
from tools.errors import InputError, describe
from tools.models import SpeechName
from tools.profiles import ProfileName

offline_hub()  # as the CLI: nothing on the default path may reach a model hub
SETTINGS = Settings()


@dataclass
class StudioContext(RunContext):
    """Runtime context for Studio runs: JSON fields only (defaults from the settings); the tools are
    built from them."""

    tts: SpeechName = SETTINGS.tts  # edge needs the network and falls back to auto
    home: Path = SETTINGS.home  # where runs and the tool cache go (RAGVID_HOME)
    max_reflections: int = SETTINGS.max_reflections
    threads: int = SETTINGS.threads
    profile_name: ProfileName = SETTINGS.profile
    # built in __post_init__ from the fields above; not part of the context form
    toolbox: SkipJsonSchema[Any] = field(default=None, init=False, repr=False)
    policy: SkipJsonSchema[Any] = field(default=None, init=False, repr=False)
    profile: SkipJsonSchema[Any] = field(default=None, init=False, repr=False)
    ffmpeg: SkipJsonSchema[Any] = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # Studio builds this from the assistant's JSON without validating it: check each knob as the CLI
        # would, naming the context field
        knobs = {"tts": self.tts, "home": self.home, "max_reflections": self.max_reflections, "threads": self.threads,
                 "profile": self.profile_name}  # fmt: skip
        try:
            settings = Settings(**{**SETTINGS.model_dump(), **knobs})
        except ValidationError as e:
            err = e.errors()[0]
            name = {"profile": "profile_name"}.get(str(err["loc"][0]), str(err["loc"][0]))
            raise InputError(f"context.{name}", describe(err)) from None
        base = settings.run_context()
        self.home, self.toolbox, self.policy, self.ffmpeg = base.home, base.toolbox, base.policy, base.ffmpeg
        self.max_reflections, self.threads, self.profile = base.max_reflections, base.threads, base.profile


class ModelFolderRecommender:
    """The GRM of the settings' model folder (``RAGVID_MODEL``, else ``RAGVID_HOME/models/default``), loaded
    at the first recommendation: the Studio graphs are imported when the server starts, when no model may
    exist yet."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._loaded: Recommender | None = None

    def recommend(self, user_context: UserContext, k: int) -> list[ScoredDSID]:
        if self._loaded is None:
            from rag_recsys.grm.serving import load_recommender
            from rag_recsys.grm.trainer import BEST

            if not (self.folder / BEST).is_file():
                raise InputError("RAGVID_MODEL", f"no trained model in {self.folder}: set RAGVID_MODEL or train one "
                                 f"with `ragvid rec train scientific --out {self.folder}`")  # fmt: skip
            self._loaded = load_recommender(self.folder)
        return self._loaded.recommend(user_context, k)


def _studio_graph(graph: Any, name: str) -> Any:
    graph.context_schema = StudioContext
    return graph.compile(name=name)


vga = _studio_graph(build_vga_graph(), "vga")
rag = _studio_graph(build_rag_graph(ModelFolderRecommender(SETTINGS.model_folder)), "rag")
