"""The parts of `ragvid recommend` below the command line: loading the user and the model with one-line
errors, and printing the ranked D-SIDs with what their codes mean."""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.table import Table
from rich.text import Text

from rag_recsys.catalogue import clip
from rag_recsys.recommender import Recommender, ScoredDSID, UserContext
from ragvid.progress import literal_console
from tools.errors import InputError

RECOMMENDER_KINDS = ("grm", "popularity")


class Replay:
    """A recommender that answers with a list already computed, so `--generate` hands the graph the very
    ranking that was printed instead of decoding it a second time."""

    def __init__(self, ranked: Sequence[ScoredDSID]) -> None:
        self.ranked = list(ranked)

    def recommend(self, user_context: UserContext, k: int) -> list[ScoredDSID]:
        return self.ranked[:k]


def load_recommender_for_cli(model_dir: Path, kind: str) -> Recommender:
    """The ``kind`` recommender of a model folder; `InputError` naming --kind or --model when it cannot be."""
    from rag_recsys.grm.serving import load_recommender
    from rag_recsys.grm.trainer import BEST

    if kind not in RECOMMENDER_KINDS:
        raise InputError("--kind", f"unknown recommender {kind!r} (one of {', '.join(RECOMMENDER_KINDS)})")
    if not (model_dir / BEST).is_file():
        raise InputError("--model", f"no trained model in {model_dir} (train one with "
                         f"`ragvid rec train scientific --out {model_dir}`, or pass --model DIR)")  # fmt: skip
    try:
        return load_recommender(model_dir, kind)
    except (RuntimeError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as e:
        raise InputError("--model", f"{model_dir}: cannot load ({str(e)[:200]})") from None


def recommend_for_cli(recommender: Recommender, user: UserContext, user_file: Path, k: int) -> list[ScoredDSID]:
    """The recommender's top ``k`` for ``user``; a history entry it cannot use names the user file."""
    try:
        return recommender.recommend(user, k)
    except InputError as e:
        raise InputError(e.field, e.message, user_file) from None
    except ValueError as e:  # a model trained on another tokenizer version
        raise InputError("--model", str(e)) from None


def print_recommendations(ranked: Sequence[ScoredDSID], as_json: bool) -> None:
    """The list on stdout: a table with each D-SID's lexicon meaning, or JSON for scripts."""
    from rag_recsys.tokenizers import default_tokenizer

    tokenizer = default_tokenizer()
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
    literal_console(stderr=False).print(table)
