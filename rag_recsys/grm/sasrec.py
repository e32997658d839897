"""SASRec baseline (Kang & McAuley 2018) with item-ID embeddings and a full-softmax cross-entropy over
all items (the stronger variant of the paper's sampled BCE), trained by the same loop as the GRM.

It reads batches built from a one-level "code" table that is the item row itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar, Self, cast

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from rag_recsys.grm.data import Batch, ItemCodes
from rag_recsys.grm.evaluator import Ranker
from rag_recsys.grm.interface import SequentialRecommender
from rag_recsys.grm.model import Block, init_weights


class SASRecConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n_items: int = Field(ge=1)
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 2
    d_ff: int = 256
    dropout: float = 0.3
    max_recent: int = 50


class SASRec(SequentialRecommender):
    """SASRec behind ``SequentialRecommender``: ranks by full scoring of every item (no profile input)."""

    kind: ClassVar[str] = "sasrec"
    config_class: ClassVar[type[SASRecConfig]] = SASRecConfig
    cfg: SASRecConfig

    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__(cfg)
        self.items = nn.Embedding(cfg.n_items, cfg.d_model)
        self.position = nn.Embedding(cfg.max_recent, cfg.d_model)
        self.blocks = nn.ModuleList(
            Block(cfg.d_model, cfg.n_heads, cfg.d_ff, cfg.dropout) for _ in range(cfg.n_layers)
        )
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.apply(init_weights)

    @classmethod
    def build(cls, preset: str, items: ItemCodes, item_ids: bool = False, item_head: bool = False) -> Self:
        """``SASRecConfig``'s one shape whatever the preset; item IDs are all SASRec reads, so ``item_ids`` and
        ``item_head`` do not apply."""
        return cls(SASRecConfig(n_items=len(items.item_ids)))

    def input_codes(self, items: ItemCodes) -> np.ndarray:
        """A one-level "code" table that is the item row itself."""
        return np.arange(len(items.item_ids), dtype=np.int64)[:, None]

    @property
    def max_recent(self) -> int:
        return self.cfg.max_recent

    def hidden(self, batch: Batch) -> torch.Tensor:
        mask = batch.recent_mask
        t = mask.shape[1]
        x = self.items(batch.recent[..., 0]) * math.sqrt(self.cfg.d_model)
        x = self.drop(x + self.position(batch.positions.clamp(max=self.cfg.max_recent - 1)))
        eye = torch.eye(t, dtype=torch.bool, device=x.device)
        # padding queries see only themselves: an all-masked row would be NaN
        allowed = (torch.ones_like(eye).tril() & (mask[:, None, :] | eye)).unsqueeze(1)
        for block in cast(list[Block], list(self.blocks)):
            x, _, _ = block.context(x, allowed)
        return self.ln_f(x)

    def user_state(self, batch: Batch) -> torch.Tensor:
        return self.hidden(batch)[:, -1]

    def full_sort_scores(self, batch: Batch, items: ItemCodes) -> torch.Tensor:
        """Dot products of the user state with every item embedding (the logits of the softmax it trains)."""
        return self.user_state(batch) @ self.items.weight.T

    def loss(self, batch: Batch, label_smoothing: float = 0.0) -> torch.Tensor:
        assert batch.targets is not None and batch.target_mask is not None
        states = self.hidden(batch)[batch.target_mask]
        return F.cross_entropy(states @ self.items.weight.T, batch.targets[batch.target_mask][:, 0],
                               label_smoothing=label_smoothing)


    def ranker(
        self, items: ItemCodes, beam: int, k: int, device: torch.device | str = "cpu", exclude_seen: bool = True,
        item_weight: float | None = None,
    ) -> Ranker:
        """Top k of the last position's scores over every item (``beam`` and ``item_weight`` do not apply)."""

        @torch.no_grad()
        def rank(histories: Sequence[np.ndarray], profiles: Sequence[Sequence[int]]) -> np.ndarray:
            batch = self.batch(items, histories).to(device)
            scores = self.full_sort_scores(batch, items)
            if exclude_seen:
                users = torch.cat([torch.full((len(h),), i, dtype=torch.long) for i, h in enumerate(histories)])
                rows = torch.from_numpy(np.concatenate(list(histories))).long()
                scores[users.to(scores.device), rows.to(scores.device)] = float("-inf")
            return scores.topk(k, dim=1).indices.cpu().numpy()

        return rank
