"""The agents plan within what the active tools support: a composer that renders two transitions gets
only those, whatever the creative code asked for, and the run says what stood in for what."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphs.state import EFFECT, FINAL, INSTRUCTIONS
from rag_recsys.tokenizers import default_tokenizer
from tests.vga_run import Wrapper, run_rounds, short_copy, swap
from tools.vocabulary import Transition

pytestmark = pytest.mark.slow


class TwoTransitionComposer(Wrapper):
    """A composer (say, a template engine) that renders hard cuts and crossfades only."""

    transitions: frozenset[Transition] = frozenset({"cut", "fade"})


async def test_a_composer_with_two_transitions_gets_only_those(ragvid_home: Path, tmp_path: Path) -> None:
    # coffee.json's look is warm-cozy × steady: dissolves and fades; take a path whose style fades through black
    styles = default_tokenizer().lexicon.creative_entries.values()
    sid = short_copy()
    sid["creative"] = next(s.path for s in styles if "fadeblack" in s.transitions)
    state = await run_rounds(ragvid_home, tmp_path / "o.mp4", sid, tweak=swap(composer=TwoTransitionComposer))
    instructions = INSTRUCTIONS.require(state)
    assert set(instructions.output.transitions) <= {"cut", "fade"}
    assert any("transition 'fadeblack' → 'fade'" in n for n in instructions.notes), instructions.notes
    for entry in EFFECT.all(state):
        assert set(entry.output.transitions) <= {"cut", "fade"} and "fade" in entry.output.transitions
    assert FINAL.latest(state) is None  # stopped before the final render: the drafts are what was measured
