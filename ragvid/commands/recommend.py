"""The parts of `ragvid recommend` below the command line: loading the user and the model with one-line
errors, and printing the ranked D-SIDs with what their codes mean."""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rag_recsys.catalogue import clip
from rag_recsys.recommender import HistoryError, Recommender, ScoredDSID, UserContext, UserFileError, load_user_file
from ragvid.errors import UserError

RECOMMENDER_KINDS = ("grm", "popularity")


class Replay:
    """A recommender that answers with a list already computed, so `--generate` hands the graph the very
    ranking that was printed instead of decoding it a second time."""

    def __init__(self, ranked: Sequence[ScoredDSID]) -> None:
        self.ranked = list(ranked)

    def recommend(self, user_context: UserContext, k: int) -> list[ScoredDSID]:
        return self.ranked[:k]


def load_recommender_for_cli(user_file: Path, model_dir: Path, kind: str) -> tuple[UserContext, Recommender]:
    from rag_recsys.grm.serving import load_recommender
    from rag_recsys.grm.trainer import BEST

    if kind not in RECOMMENDER_KINDS:
        raise UserError(f"--kind: unknown recommender {kind!r} (one of {', '.join(RECOMMENDER_KINDS)})")
    try:
        user = load_user_file(user_file)
    except UserFileError as e:
        raise UserError(str(e)) from None
    if not (model_dir / BEST).is_file():
        raise UserError(f"--model: no trained model in {model_dir} (train one with "
                        f"`ragvid rec train scientific --out {model_dir}`, or pass --model DIR)")
    try:
        return user, load_recommender(model_dir, kind)
    except (RuntimeError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as e:
        raise UserError(f"--model: {model_dir}: cannot load ({' '.join(str(e).split())[:200]})") from None


def recommend_for_cli(recommender: Recommender, user: UserContext, user_file: Path, k: int) -> list[ScoredDSID]:
    try:
        return recommender.recommend(user, k)
    except HistoryError as e:
        raise UserError(f"{user_file}: {e}") from None
    except ValueError as e:  # a model trained on another tokenizer version
        raise UserError(f"--model: {e}") from None


def print_recommendations(ranked: Sequence[ScoredDSID], as_json: bool) -> None:
    """The list on stdout: a table with each D-SID's lexicon meaning, or JSON for scripts."""
    from rag_recsys.tokenizer import DSIDTokenizer

    tokenizer = DSIDTokenizer.load_default()
    rows = []
    for rank, rec in enumerate(ranked, 1):
        ours = rec.tokenizer == tokenizer.version
        content = tokenizer.decode_content(rec.content) if ours else None
        creative = tokenizer.decode_creative(rec.creative) if ours else None
        rows.append({
            "rank": rank,
            **rec.model_dump(mode="json"),
            "content_meaning": ", ".join(content.entities[:3]) if content else None,
            "creative_meaning": f"{creative.look}, {creative.rhythm}" if creative else None,
        })
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"top {len(rows)} D-SIDs")
    for column in ("#", "D-SID", "score", "means", "style", "item"):
        table.add_column(column, overflow="fold")
    for row in rows:
        product = clip((row["meta"] or {}).get("product") or "", 48)
        cells = (
            str(row["rank"]), f"{row['content']}+{row['creative']}", f"{row['score']:.2f}",
            row["content_meaning"] or "(foreign index: no lexicon meaning)", row["creative_meaning"] or "",
            f"{row['item']}: {product}" if product else str(row["item"] or ""),
        )
        table.add_row(*(Text(c) for c in cells))  # catalogue text is data, never rich markup
    Console().print(table)
