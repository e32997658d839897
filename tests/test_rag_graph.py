"""The full RaG graph (graphs/rag.py): any object with `recommend(user_context, k)` drives it; what it
recommends is checked before anything is rendered; examples/custom_recommender.py runs to a video."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphs.context import default_context
from graphs.rag import RECOMMENDATIONS, NoRecommendation, build_rag_graph
from graphs.state import BRIEF, GenerateRequest
from rag_recsys.recommender import ScoredDSID, UserContext
from rag_recsys.tokenizers import default_tokenizer
from ragvid.settings import Settings
from tests.conftest import ROOT, load_example
from tools.errors import InputError
from tools.probe import probe


class Fixed:
    def __init__(self, ranked: list[ScoredDSID]) -> None:
        self.ranked = ranked
        self.calls: list[tuple[UserContext, int]] = []

    def recommend(self, user_context: UserContext, k: int) -> list[ScoredDSID]:
        self.calls.append((user_context, k))
        return self.ranked[:k]


async def _run(recommender: Fixed, home: Path) -> dict:
    graph = build_rag_graph(recommender, k=4).compile()
    request = GenerateRequest(out=str(home / "x.mp4"), run_id="t", graph="rag")
    user = UserContext(history=["Burr coffee grinder"], profile={"age": "30"})
    return await graph.ainvoke({"request": request.model_dump(mode="json"), "user": user.model_dump(mode="json")},
                               context=default_context(home))  # fmt: skip


async def test_empty_ranking_stops_before_generation(tmp_path: Path) -> None:
    recommender = Fixed([])
    with pytest.raises(NoRecommendation, match="Fixed returned no D-SID"):
        await _run(recommender, tmp_path)
    assert recommender.calls[0][1] == 4 and recommender.calls[0][0].profile == {"age": "30"}
    assert not (tmp_path / "runs" / "t" / "recommended.sid.json").exists()


async def test_foreign_codes_are_refused_before_generation(tmp_path: Path) -> None:
    foreign = ScoredDSID(content=[183, 70, 232], creative=[0, 1], score=0.0, item="12", tokenizer=None)
    with pytest.raises(InputError, match="foreign index"):
        await _run(Fixed([foreign]), tmp_path)
    assert not list((tmp_path / "runs").glob("*/*.mp4"))


@pytest.mark.slow
async def test_custom_recommender_example_generates_its_pick(ragvid_home: Path, tmp_path: Path) -> None:
    example = load_example("custom_recommender")
    out = tmp_path / "rag.mp4"
    settings = Settings(home=ragvid_home, profile="fast")
    state = await example.run(ROOT / "examples" / "users" / "barista.json", out, duration=10, settings=settings)
    ranked = RECOMMENDATIONS.require(state).ranked
    assert ranked[0].item == "coffee"  # the coffee-gear history ranks the coffee SID first
    assert ranked[0].score > ranked[1].score
    style = example.load_user_file(ROOT / "examples" / "users" / "barista.json").style
    wished = default_tokenizer().encode_creative(style)[0]
    assert ranked[0].creative == wished  # the user file's style
    brief = BRIEF.require(state)
    assert brief.content_path == ranked[0].content and brief.creative_path == wished
    assert brief.images and Path(brief.images[0]).name == "coffee.png"
    assert 8.5 <= probe(out).duration <= 11.5
