"""The GRM: a decoder-only Transformer over SID tokens, conditioned on the user context.

One sequence per user: ``[profile, summary, item_1 … item_n]`` followed by the SID tokens of the next
item (content levels, the dedup level, then creative levels). History items enter as one token each,
the sum of their per-level code embeddings; the profile token sums hashed ``key=value`` features and the
summary token averages the items older than the recent window (two granularities of behaviour: recent
items in full, the longer history summarised). Every token, context or SID, goes through the same
causal stack.

Training branches the SID continuation off *every* history position at once: the SID tokens of branch
``i`` attend to context positions ≤ ``i`` and causally to each other, which is exactly the sequence
``[context_≤i, SID]`` with a causal mask, so one pass teaches next-item generation at every step of the
history (as SASRec does for item IDs). Inference runs the context once, keeps its keys and values, and
branches beams off the last position.

With ``item_head`` the last context state also scores every catalogue item through the item table (a dense
head, tied to the input item embeddings); decoding is guided by it (see decoding).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rag_recsys.grm.config import GRMConfig, model_config
from rag_recsys.grm.data import Batch, ItemCodes
from rag_recsys.grm.decoding import beam_search
from rag_recsys.grm.evaluator import Ranker
from rag_recsys.grm.interface import SequentialRecommender
from rag_recsys.grm.trie import content_trie

N_PREFIX = 2  # profile and summary tokens before the recent items


@dataclass
class Context:
    hidden: torch.Tensor  # (B, T, D) final states of the recent-item positions
    keys: list[torch.Tensor]  # per layer (B, H, N_PREFIX + T, d_head)
    values: list[torch.Tensor]
    valid: torch.Tensor  # (B, N_PREFIX + T) bool: which context positions hold a token


class Block(nn.Module):
    """Pre-norm Transformer layer with two entry points that share weights: the context pass (plain
    causal self-attention) and the SID pass (branches attending to cached context keys + their own)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        d = d_model
        self.n_heads = n_heads
        self.d_head = d // n_heads
        self.p = dropout
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d))
        self.drop = nn.Dropout(dropout)

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(..., t, D) → three (..., H, t, d_head)."""
        qkv = self.qkv(self.ln1(x)).unflatten(-1, (3, self.n_heads, self.d_head)).transpose(-4, -2)
        q, k, v = qkv.unbind(-3)  # each (..., H, t, d_head)
        return q, k, v

    def _out(self, x: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.proj(attended.transpose(-3, -2).flatten(-2)))
        return x + self.drop(self.ff(self.ln2(x)))

    def context(self, x: torch.Tensor, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, D); allowed (B, 1, T, T) bool. Returns the new x and this layer's keys and values."""
        q, k, v = self._qkv(x)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=self.p if self.training else 0.0)
        return self._out(x, a), k, v

    def sid(self, y: torch.Tensor, ctx_k: torch.Tensor, ctx_v: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """y (B, N, t, D): N branches of t SID tokens; ctx_k/ctx_v (B, H, Tc, d_head); allowed (B, N, Tc)."""
        b, n, t, _ = y.shape
        q, k, v = self._qkv(y)  # (B, N, H, t, d_head)
        scale = 1.0 / math.sqrt(self.d_head)
        # context scores as one (B, H, N·t, Tc) product: the context is shared by all branches of a user
        qc = q.transpose(1, 2).reshape(b, self.n_heads, n * t, self.d_head)
        s_ctx = (qc @ ctx_k.transpose(-1, -2)).view(b, self.n_heads, n, t, -1).transpose(1, 2) * scale
        s_ctx = s_ctx.masked_fill(~allowed[:, :, None, None, :], float("-inf"))
        s_self = (q @ k.transpose(-1, -2)) * scale
        future = torch.ones(t, t, dtype=torch.bool, device=y.device).triu(1)
        s_self = s_self.masked_fill(future, float("-inf"))
        p = torch.softmax(torch.cat([s_ctx, s_self], dim=-1), dim=-1)
        p = F.dropout(p, self.p, self.training)
        tc = ctx_k.shape[-2]
        p_ctx = p[..., :tc].transpose(1, 2).reshape(b, self.n_heads, n * t, tc)
        a = (p_ctx @ ctx_v).view(b, self.n_heads, n, t, self.d_head).transpose(1, 2) + p[..., tc:] @ v
        return self._out(y, a)


class GRM(SequentialRecommender):
    """The generative recommender behind ``SequentialRecommender``: ranks by trie-constrained beam search."""

    kind: ClassVar[str] = "grm"
    config_class: ClassVar[type[GRMConfig]] = GRMConfig
    cfg: GRMConfig

    def __init__(self, cfg: GRMConfig) -> None:
        super().__init__(cfg)
        d = cfg.d_model
        sizes = cfg.sizes
        # one row more per level: the "unknown" code of history items whose dedup or creative code is
        # not known (an item described by text rather than taken from the catalogue)
        self.codes = nn.ModuleList(nn.Embedding(size + 1, d) for size in sizes)
        # last row: items outside the catalogue
        self.item_ids = nn.Embedding(cfg.n_items + 1, d) if cfg.n_items else None
        self.level = nn.Embedding(len(sizes), d)
        self.position = nn.Embedding(cfg.max_recent, d)
        self.profile = nn.EmbeddingBag(cfg.profile_buckets + 1, d, mode="sum", padding_idx=0)
        self.prefix = nn.Parameter(torch.zeros(N_PREFIX, d))  # marks the profile and summary slots
        self.blocks = nn.ModuleList(
            Block(d, cfg.n_heads, cfg.d_ff, cfg.dropout) for _ in range(cfg.n_layers)
        )
        self.ln_f = nn.LayerNorm(d)
        self.heads = nn.ModuleList(nn.Linear(d, size) for size in sizes)
        self.drop = nn.Dropout(cfg.dropout)
        self.apply(init_weights)
        nn.init.normal_(self.prefix, std=0.02)

    @classmethod
    def build(cls, preset: str, items: ItemCodes, item_ids: bool = False, item_head: bool = False) -> Self:
        """``item_ids``: also embed the catalogue row of history items; ``item_head``: the dense item head
        too (it implies the item table)."""
        n_items = len(items.item_ids) if item_ids or item_head else 0
        return cls(model_config(preset, items.content_sizes, items.creative_sizes, n_items, item_head))

    def input_codes(self, items: ItemCodes) -> np.ndarray:
        return items.codes

    @property
    def max_recent(self) -> int:
        return self.cfg.max_recent

    @property
    def max_summary(self) -> int:
        return self.cfg.max_summary

    @property
    def item_weight(self) -> float | None:
        return self.cfg.item_score_weight if self.cfg.item_head else None

    def ranker(
        self, items: ItemCodes, beam: int, k: int, device: torch.device | str = "cpu", exclude_seen: bool = True,
        item_weight: float | None = None,
    ) -> Ranker:
        """Ranks by constrained beam search over the content trie of ``items`` (see ``decoding.beam_search``);
        the history's items are left out inside the search, so the beam fills with items the user lacks."""
        trie = content_trie(items).to(device)

        def rank(histories: Sequence[np.ndarray], profiles: Sequence[Sequence[int]]) -> np.ndarray:
            batch = self.batch(items, histories, profiles).to(device)
            decoded = beam_search(self, batch, trie, max(beam, k), False, item_weight,
                                  histories if exclude_seen else None)
            return decoded.items[:, :k].cpu().numpy()

        return rank

    def user_state(self, batch: Batch) -> torch.Tensor:
        return self.encode(batch).hidden[:, -1]

    def full_sort_scores(self, batch: Batch, items: ItemCodes, chunk: int = 1024) -> torch.Tensor:
        """log p_SID of each item's whole content path (every level, the dedup code included), teacher-forced
        ``chunk`` items at a time, plus ``item_weight`` · log p_head with the dense item head: the score the
        beam search ranks by, for every item (a beam as wide as the catalogue finds the same top k)."""
        ctx = self.encode(batch)
        last = ctx.hidden[:, -1]
        paths = torch.from_numpy(items.codes[:, : len(self.cfg.content_sizes)]).to(last.device)
        scores = torch.log_softmax(self.heads[0](last).float(), dim=-1)[:, paths[:, 0]]
        allowed = ctx.valid.unsqueeze(1)  # every item branches off the last position
        for start in range(0, len(paths), chunk):
            part = paths[start : start + chunk]
            prefix = part[:, :-1].unsqueeze(0).expand(last.shape[0], -1, -1)
            hidden = self.sid_hidden(ctx, prefix, allowed) if part.shape[1] > 1 else None
            for level in range(1, part.shape[1]):
                assert hidden is not None
                logp = torch.log_softmax(self.heads[level](hidden[:, :, level - 1]).float(), dim=-1)
                code = part[:, level].view(1, -1, 1).expand(last.shape[0], -1, 1)
                scores[:, start : start + len(part)] += logp.gather(-1, code).squeeze(-1)
        if self.cfg.item_head and self.item_weight:
            scores = scores + self.item_weight * self.item_logp(last)
        return scores

    @property
    def layers(self) -> list[Block]:
        return cast(list[Block], list(self.blocks))

    @property
    def n_levels(self) -> int:
        return len(self.cfg.sizes)

    def item_embedding(self, codes: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """(..., L) codes and (...) item rows → (..., D): the sum of the per-level code embeddings, plus the
        item's own embedding when the model has an item table."""
        out = self.codes[0](codes[..., 0])
        for i in range(1, self.n_levels):
            out = out + self.codes[i](codes[..., i])
        if self.item_ids is not None:
            out = out + self.item_ids(torch.where(ids < 0, self.cfg.n_items, ids))
        return out

    def item_logp(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., D) context states → (..., n_items) log-probabilities of the dense item head."""
        assert self.item_ids is not None
        return torch.log_softmax((hidden @ self.item_ids.weight[: self.cfg.n_items].T).float(), dim=-1)

    def encode(self, batch: Batch) -> Context:
        b, t = batch.recent_mask.shape
        items = self.item_embedding(batch.recent, batch.recent_ids)
        items = items + self.position(batch.positions.clamp(max=self.cfg.max_recent - 1))
        weights = batch.summary_mask.float().unsqueeze(-1)
        summary = self.item_embedding(batch.summary, batch.summary_ids)
        summary = (summary * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        x = torch.cat([self.profile(batch.profile).unsqueeze(1), summary.unsqueeze(1), items], dim=1)
        x = self.drop(x + torch.cat([self.prefix, self.prefix.new_zeros(t, self.cfg.d_model)]))
        valid = torch.cat([batch.recent_mask.new_ones(b, N_PREFIX), batch.recent_mask], dim=1)
        causal = torch.ones(t + N_PREFIX, t + N_PREFIX, dtype=torch.bool, device=x.device).tril()
        allowed = (causal & valid[:, None, :]).unsqueeze(1)
        keys, values = [], []
        for block in self.layers:
            x, k, v = block.context(x, allowed)
            keys.append(k)
            values.append(v)
        return Context(self.ln_f(x[:, N_PREFIX:]), keys, values, valid)

    def sid_hidden(self, ctx: Context, prefix: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """Final states of SID tokens ``prefix`` (B, N, t) codes of levels 0..t-1 → (B, N, t, D)."""
        t = prefix.shape[-1]
        y = torch.stack([self.codes[i](prefix[..., i]) for i in range(t)], dim=-2) + self.level.weight[:t]
        y = self.drop(y)
        for block, k, v in zip(self.layers, ctx.keys, ctx.values, strict=True):
            y = block.sid(y, k, v, allowed)
        return self.ln_f(y)

    def loss(self, batch: Batch, label_smoothing: float = 0.0) -> torch.Tensor:
        """Mean token cross-entropy of the next item's SID at every history position that has one, plus the
        dense head's item cross-entropy where the model has one."""
        assert batch.targets is not None and batch.target_mask is not None
        ctx = self.encode(batch)
        t = batch.recent_mask.shape[1]
        branch = torch.arange(t, device=ctx.valid.device)[:, None]
        key = torch.arange(t + N_PREFIX, device=ctx.valid.device)[None, :]
        allowed = ctx.valid[:, None, :] & (key <= branch + N_PREFIX)  # (B, T, Tc)
        targets, mask = batch.targets, batch.target_mask
        states = [ctx.hidden[mask]]
        if self.n_levels > 1:
            sid = self.sid_hidden(ctx, targets[..., :-1], allowed)[mask]  # (M, L-1, D)
            states.extend(sid.unbind(1))
        chosen = targets[mask]
        losses = [
            F.cross_entropy(head(state), chosen[:, i], label_smoothing=label_smoothing)
            for i, (head, state) in enumerate(zip(self.heads, states, strict=True))
        ]
        loss = torch.stack(losses).mean()
        if self.cfg.item_head:
            assert batch.target_ids is not None
            rows = batch.target_ids[mask]
            known = rows >= 0
            if bool(known.any()):
                loss = loss + F.nll_loss(self.item_logp(ctx.hidden[mask][known]), rows[known])
        return loss


def init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear | nn.Embedding | nn.EmbeddingBag):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
