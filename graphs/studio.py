"""Entry points for `langgraph.json` (LangGraph Studio / `langgraph dev`): `vga` (SID file → video) and
`rag` (user → recommender → VGA subgraph → video); see docs/studio.md.

Exported without a checkpointer: the dev server supplies its own and refuses graphs that bring one.

The dev server always passes a runtime context — the assistant's, `{}` unless set in Studio — and
LangGraph builds the graph's context schema from it (`schema(**context)`). `RunContext` cannot be
built that way (its tool box and policy are objects, not JSON), nor can Studio draw a form for it, so
the Studio graph uses `StudioContext`: a `RunContext` whose every field has a default — the offline
tools and rule policy of `default_context()` under `RAGVID_HOME` — and whose JSON knobs (speech
back-end, reflection rounds, render presets) are what Studio's context form shows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic.json_schema import SkipJsonSchema

from graphs.context import RunContext, default_context, default_home
from graphs.rag import build_rag_graph
from graphs.vga import build_vga_graph
from rag_recsys.recommender import Recommender, ScoredDSID, UserContext

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # as the CLI: nothing on the default path may reach a model hub


@dataclass
class StudioContext(RunContext):
    """Runtime context for Studio runs: JSON fields only; the tools are built from them."""

    tts: Literal["piper", "espeak", "edge"] = "piper"  # edge needs the network and falls back to piper
    home: Path = field(default_factory=default_home)  # where runs and the tool cache go (RAGVID_HOME)
    # built in __post_init__ from the fields above; not part of the context form
    toolbox: SkipJsonSchema[Any] = field(default=None, init=False, repr=False)
    policy: SkipJsonSchema[Any] = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.home = Path(self.home).expanduser()
        base = default_context(self.home, tts=self.tts)
        self.toolbox, self.policy = base.toolbox, base.policy


class ModelFolderRecommender:
    """The GRM of a model folder (``ragvid rec train --out DIR``), loaded at the first recommendation: the
    Studio graphs are imported when the server starts, when no model may exist yet. The folder is
    ``$RAGVID_MODEL``, else ``$RAGVID_HOME/models/default`` (where ``ragvid recommend`` looks too)."""

    def __init__(self) -> None:
        self._loaded: Recommender | None = None

    @staticmethod
    def folder() -> Path:
        return Path(os.environ.get("RAGVID_MODEL") or default_home() / "models" / "default").expanduser()

    def recommend(self, user_context: UserContext, k: int) -> list[ScoredDSID]:
        if self._loaded is None:
            from rag_recsys.grm.serving import load_recommender
            from rag_recsys.grm.trainer import BEST

            folder = self.folder()
            if not (folder / BEST).is_file():
                raise FileNotFoundError(f"no trained model in {folder}: set RAGVID_MODEL or train one with "
                                        f"`ragvid rec train scientific --out {folder}`")
            self._loaded = load_recommender(folder)
        return self._loaded.recommend(user_context, k)


def _studio_graph(graph: Any, name: str) -> Any:
    graph.context_schema = StudioContext
    return graph.compile(name=name)


vga = _studio_graph(build_vga_graph(), "vga")
rag = _studio_graph(build_rag_graph(ModelFolderRecommender()), "rag")
