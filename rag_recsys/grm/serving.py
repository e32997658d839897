"""``Recommender`` implementations over a trained model folder: the GRM and the popularity baseline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rag_recsys.catalogue import product_meta, read_catalogue
from rag_recsys.grm.data import ItemCodes, make_code_batch, profile_features
from rag_recsys.grm.decoding import beam_search
from rag_recsys.grm.model import GRM
from rag_recsys.grm.pipeline import LoadedModel, load_model
from rag_recsys.grm.popularity import popular_items
from rag_recsys.grm.trie import content_trie
from rag_recsys.recommender import (
    CreativeChooser,
    Recommender,
    ResolvedItem,
    ScoredDSID,
    StyleOrHabitChooser,
    UserContext,
    resolve_history,
)
from rag_recsys.tokenizers import Tokenizer, default_tokenizer

MIN_BEAM = 50


class _CatalogueView:
    """What both recommenders share: history resolution and item → D-SID output."""

    def __init__(
        self, items: ItemCodes, tokenizer_version: str | None, chooser: CreativeChooser | None,
        catalogue: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.items = items
        self.tokenizer_version = tokenizer_version
        self.chooser = chooser or StyleOrHabitChooser()
        self.catalogue = catalogue or {}
        # content path (without the dedup level) → the item rows holding it, in row order
        self._rows: dict[tuple[int, ...], list[int]] = {}
        for row, path in enumerate(items.codes[:, : items.n_content - 1].tolist()):
            self._rows.setdefault(tuple(path), []).append(row)

    def seen_rows(self, history: Sequence[ResolvedItem]) -> np.ndarray:
        """Every item row on a content path of the history: recommendations are D-SIDs, and a D-SID the
        user already has is not worth an ad (which item on a shared path they had is not known)."""
        rows = {r for item in history for r in self._rows.get(tuple(item.content), [])}
        return np.asarray(sorted(rows), dtype=np.int64)

    def _tokenizer(self) -> Tokenizer | None:
        if self.tokenizer_version is None:
            return None
        tokenizer = default_tokenizer()
        if tokenizer.version != self.tokenizer_version:
            raise ValueError(f"model trained on tokenizer {self.tokenizer_version}, this ragvid uses "
                             f"{tokenizer.version}, whose codes of the history's texts mean other things to the "
                             "model: retrain it (`ragvid rec train DATASET -o DIR`) or give the history as code "
                             "paths")  # fmt: skip
        return tokenizer

    def resolve(self, ctx: UserContext) -> list[ResolvedItem]:
        needs_tokenizer = any(isinstance(h, str) for h in ctx.history)
        return resolve_history(
            ctx, self.items.content_sizes[:-1], self.items.creative_sizes,
            self._tokenizer() if needs_tokenizer else None,
        )

    def model_codes(self, history: Sequence[ResolvedItem]) -> tuple[np.ndarray, np.ndarray]:
        """Full code rows the model reads and the item row of each: a catalogue path gets its first item's
        dedup code and row, anything else the "unknown" code (one past each level's last) and row -1;
        unknown creative codes are "unknown" too."""
        sizes = self.items.sizes
        rows = np.tile(np.asarray(sizes, dtype=np.int64), (len(history), 1))
        ids = np.full(len(history), -1, dtype=np.int64)
        n_path = self.items.n_content - 1
        for i, item in enumerate(history):
            rows[i, :n_path] = item.content
            on_path = self._rows.get(tuple(item.content))
            if on_path:
                row = on_path[0]
                rows[i, n_path] = self.items.codes[row, n_path]
                ids[i] = row
            if self.items.creative_sizes and item.creative is not None:
                rows[i, self.items.n_content :] = item.creative
        return rows, ids

    def output(
        self, ctx: UserContext, history: Sequence[ResolvedItem], rows: Sequence[int], scores: Sequence[float],
        creatives: Sequence[Sequence[int]] | None, k: int,
    ) -> list[ScoredDSID]:
        """Distinct D-SIDs, best first: items sharing a content path (and creative) collapse into one."""
        out: list[ScoredDSID] = []
        seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
        n_path = self.items.n_content - 1
        for j, (row, score) in enumerate(zip(rows, scores, strict=True)):
            if row < 0:
                continue
            content = self.items.codes[row, :n_path].tolist()
            creative = list(creatives[j]) if creatives is not None else self.chooser.choose(ctx, history, content)
            key = (tuple(content), tuple(creative))
            if key in seen:
                continue
            seen.add(key)
            item = self.items.item_ids[row]
            known = self.catalogue.get(item)
            out.append(ScoredDSID(content=content, creative=creative, score=float(score), item=item,
                                  tokenizer=self.tokenizer_version, meta=product_meta(known) if known else None))
            if len(out) == k:
                break
        return out


class GRMRecommender(_CatalogueView):
    def __init__(
        self, loaded: LoadedModel, chooser: CreativeChooser | None = None, beam: int = MIN_BEAM,
        device: torch.device | str = "cpu", catalogue: Mapping[str, Mapping[str, Any]] | None = None,
        exclude_seen: bool = True,
    ) -> None:
        """``exclude_seen``: never recommend a catalogue item the history already holds. ValueError when the
        folder holds another kind of model: recommendations are generated D-SIDs with their creative codes."""
        model = GRM.require(loaded.model)
        super().__init__(loaded.items, loaded.meta.get("tokenizer"), chooser, catalogue)
        self.model = model.to(device).eval()
        self.trie = content_trie(loaded.items).to(device)
        self.beam = beam
        self.device = device
        self.exclude_seen = exclude_seen

    def recommend(self, user_context: UserContext, k: int) -> list[ScoredDSID]:
        history = self.resolve(user_context)
        cfg = self.model.cfg
        codes, ids = self.model_codes(history)
        profile = profile_features(user_context.profile, cfg.profile_buckets)
        batch = make_code_batch([codes], cfg.max_recent, cfg.max_summary, [profile], ids=[ids]).to(self.device)
        # items sharing a content path collapse in the output, so decode more than k
        exclude = [self.seen_rows(history)] if self.exclude_seen else None
        decoded = beam_search(self.model, batch, self.trie, max(self.beam, 4 * k), exclude=exclude)
        creatives = decoded.creative[0].tolist() if cfg.creative_sizes else None
        return self.output(user_context, history, decoded.items[0].tolist(), decoded.scores[0].tolist(),
                           creatives, k)


class PopularityRecommender(_CatalogueView):
    """The items seen most in training, minus the user's own D-SIDs; score = log share of interactions."""

    def __init__(self, items: ItemCodes, counts: np.ndarray, tokenizer_version: str | None = None,
                 chooser: CreativeChooser | None = None, catalogue: Mapping[str, Mapping[str, Any]] | None = None,
                 ) -> None:
        super().__init__(items, tokenizer_version, chooser, catalogue)
        self.counts = counts
        self._ranked = popular_items(counts, len(counts)).tolist()
        log_share = np.log(np.maximum(counts, 1e-12) / max(int(counts.sum()), 1))
        self._scores = log_share[self._ranked].tolist()

    def recommend(self, user_context: UserContext, k: int) -> list[ScoredDSID]:
        history = self.resolve(user_context)
        seen = set(self.seen_rows(history).tolist())
        kept = [(r, s) for r, s in zip(self._ranked, self._scores, strict=True) if r not in seen]
        return self.output(user_context, history, [r for r, _ in kept], [s for _, s in kept], None, k)


def load_recommender(model_dir: Path, kind: str = "grm", chooser: CreativeChooser | None = None,
                     device: torch.device | str = "cpu") -> Recommender:
    """A trained model folder (``ragvid rec train --out DIR``) as a ``Recommender``: ``kind`` "grm" or
    "popularity" (the same catalogue and training counts). Recommendations carry product meta when the
    folder has a catalogue."""
    loaded = load_model(model_dir, device)
    catalogue = read_catalogue(model_dir)
    if kind == "popularity":
        return PopularityRecommender(loaded.items, loaded.counts, loaded.meta.get("tokenizer"), chooser, catalogue)
    if kind != "grm":
        raise ValueError(f"unknown recommender kind {kind!r} (grm or popularity)")
    return GRMRecommender(loaded, chooser, device=device, catalogue=catalogue)
