"""Plug your own recommender into the full RaG graph (recommender → instruction model → VGA agents).

Any object with ``recommend(user_context, k) -> list[ScoredDSID]`` will do. This one needs no trained
model: it ranks a small catalogue of SID files by how close each product's text is to what the user
touched (the tokenizer encoder's cosine, best match over the history), and keeps the user's creative wish through the
stock chooser (their ``style``, else the look they saw most, else the default).

    python examples/custom_recommender.py examples/users/barista.json -o /tmp/rag.mp4
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from graphs.rag import RECOMMENDATIONS, RagState, build_rag_graph
from graphs.state import FINAL, GenerateRequest
from rag_recsys.recommender import (
    ResolvedItem,
    ScoredDSID,
    StyleOrHabitChooser,
    UserContext,
    load_user_file,
    resolve_history,
)
from rag_recsys.sidfile import LoadedSid, load_sid_file
from rag_recsys.tokenizers import Tokenizer
from ragvid.settings import Settings

CATALOGUE = sorted((Path(__file__).parent / "sids").glob("*.json"))


class SimilarProductsRecommender:
    """Content-based ranking of a fixed set of SID files against the user's history texts."""

    def __init__(self, sid_files: Sequence[Path], tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.products: list[LoadedSid] = [load_sid_file(p, tokenizer) for p in sid_files]
        self.vectors = tokenizer.encoder.encode([p.product_text for p in self.products])
        self.chooser = StyleOrHabitChooser(tokenizer)

    def recommend(self, user_context: UserContext, k: int) -> list[ScoredDSID]:
        lexicon = self.tokenizer.lexicon
        history: list[ResolvedItem] = resolve_history(
            user_context, lexicon.content_sizes, lexicon.creative_sizes, self.tokenizer
        )
        texts = [h for h in user_context.history if isinstance(h, str) and not h.endswith(".json")]
        # no texts to compare: every product scores the same and the catalogue order decides
        scores = (self.vectors @ self.tokenizer.encoder.encode(texts).T).max(axis=1) if texts else [0.0] * len(
            self.products
        )
        ranked = sorted(zip(scores, self.products, strict=True), key=lambda pair: -float(pair[0]))[:k]
        out = []
        for score, product in ranked:
            meta = product.sid.meta.model_dump(mode="json") if product.sid.meta else None
            if meta is not None:  # the hand-over SID file lives in the run folder: image paths must not be relative
                meta["images"] = [str(p) for p in product.image_paths]
            out.append(ScoredDSID(
                content=product.sid.content,
                creative=self.chooser.choose(user_context, history, product.sid.content),
                score=float(score), item=product.path.stem, tokenizer=self.tokenizer.version, meta=meta,
            ))
        return out


async def run(user_file: Path, out: Path, duration: float | None = None, settings: Settings | None = None) -> RagState:
    """Recommend for the user in ``user_file`` and generate the top D-SID's video; the final state holds
    the ranking (``recommendations``) and the render (``final``)."""
    ctx = (settings or Settings()).run_context()
    recommender = SimilarProductsRecommender(CATALOGUE, ctx.tokenizer)
    graph = build_rag_graph(recommender, k=3).compile()
    request = GenerateRequest(out=str(out.resolve()), duration=duration, graph="rag")
    user = load_user_file(user_file)
    state = await graph.ainvoke({"request": request.model_dump(mode="json"), "user": user.model_dump(mode="json")},
                                context=ctx)  # fmt: skip
    return cast(RagState, state)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user_file", type=Path)
    parser.add_argument("-o", "--out", type=Path, default=Path("rag.mp4"))
    parser.add_argument("--duration", type=float, default=None)
    args = parser.parse_args()
    state = await run(args.user_file, args.out, args.duration)
    picked = RECOMMENDATIONS.require(state)
    for rank, rec in enumerate(picked.ranked, 1):
        print(f"{rank}. {rec.item:<10} {rec.score:.3f}  {rec.content}+{rec.creative}")
    print(f"wrote {FINAL.require(state).path} from #{picked.chosen + 1}")


if __name__ == "__main__":
    asyncio.run(main())
