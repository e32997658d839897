"""SASRec baseline (Kang & McAuley 2018) with item-ID embeddings and a full-softmax cross-entropy over
all items (the stronger variant of the paper's sampled BCE), trained by the same loop as the GRM.

It reads batches built from a one-level "code" table that is the item row itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from rag_recsys.grm.data import Batch, make_batch
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


def item_row_codes(n_items: int) -> np.ndarray:
    return np.arange(n_items, dtype=np.int64)[:, None]


class SASRec(nn.Module):
    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.items = nn.Embedding(cfg.n_items, cfg.d_model)
        self.position = nn.Embedding(cfg.max_recent, cfg.d_model)
        self.blocks = nn.ModuleList(
            Block(cfg.d_model, cfg.n_heads, cfg.d_ff, cfg.dropout) for _ in range(cfg.n_layers)
        )
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.apply(init_weights)

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

    def loss(self, batch: Batch, label_smoothing: float = 0.0) -> torch.Tensor:
        assert batch.targets is not None and batch.target_mask is not None
        states = self.hidden(batch)[batch.target_mask]
        return F.cross_entropy(states @ self.items.weight.T, batch.targets[batch.target_mask][:, 0],
                               label_smoothing=label_smoothing)


def sasrec_ranker(
    model: SASRec, k: int, device: torch.device | str = "cpu", exclude_seen: bool = True
) -> Callable[[Sequence[np.ndarray], Sequence[Sequence[int]]], np.ndarray]:
    """Histories → top-k item rows by full scoring (SASRec has no profile input), without the history's
    items unless ``exclude_seen`` is off."""
    codes = item_row_codes(model.cfg.n_items)

    @torch.no_grad()
    def rank(histories: Sequence[np.ndarray], profiles: Sequence[Sequence[int]]) -> np.ndarray:
        batch = make_batch(histories, codes, model.cfg.max_recent, 0).to(device)
        scores = model.hidden(batch)[:, -1] @ model.items.weight.T
        if exclude_seen:
            users = torch.cat([torch.full((len(h),), i, dtype=torch.long) for i, h in enumerate(histories)])
            rows = torch.from_numpy(np.concatenate(list(histories))).long()
            scores[users.to(scores.device), rows.to(scores.device)] = float("-inf")
        return scores.topk(k, dim=1).indices.cpu().numpy()

    return rank
