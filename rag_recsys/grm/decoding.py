"""Beam search over the content trie, batched over users and beams.

Content levels (with the dedup level) are masked by the trie at every step, so every finished beam is a
catalogue item; creative levels, when the model has them, are free: any creative path may follow any
content path, since new content × creative pairs are what generation is for.

A model with a dense item head guides the search: a content prefix is ranked by its SID log-probability
plus ``w`` × the log of the head's probability mass under that prefix (all items below its trie node), so
at the last level an item scores log p_SID(item) + w · log p_head(item). Without the guide, a beam cut on
SID likelihood alone loses items the head is sure of before the head is asked.

Items the user already has can be left out (``drop_seen``): in the Amazon sets no user interacts with an
item twice, and an ad for what someone already bought is a wasted slot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rag_recsys.grm.data import Batch, make_batch
from rag_recsys.grm.model import GRM, Context
from rag_recsys.grm.trie import CodeTrie


@dataclass(frozen=True)
class Decoded:
    items: torch.Tensor  # (B, K) item rows, best first; -1 where fewer than K paths were possible
    scores: torch.Tensor  # (B, K) log-probability of the whole decoded path
    creative: torch.Tensor  # (B, K, n_creative) creative codes; empty last dim without that channel

    def reordered(self, scores: torch.Tensor) -> Decoded:
        """The same beams ranked by new (B, K) ``scores``, best first (ties keep their order)."""
        scores, order = scores.sort(dim=1, descending=True, stable=True)
        creative = self.creative.gather(1, order.unsqueeze(-1).expand_as(self.creative))
        return Decoded(self.items.gather(1, order), scores, creative)


def _step(
    scores: torch.Tensor, logp: torch.Tensor, beam: int, valid_next: torch.Tensor | None,
    bonus: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Best ``beam`` extensions of (B, K) beams by (B, K, V) next-code log-probs, ranked with ``bonus``
    added when given; returns the chosen extensions' scores (without the bonus), parent beam and code,
    each (B, beam')."""
    cand = scores.unsqueeze(-1) + logp
    if valid_next is not None:
        cand = cand.masked_fill(~valid_next, float("-inf"))
    flat = cand.flatten(1)
    ranked = flat if bonus is None else flat + bonus.flatten(1)
    _, idx = ranked.topk(min(beam, flat.shape[1]), dim=1)
    vocab = logp.shape[-1]
    return flat.gather(1, idx), idx // vocab, idx % vocab


def subtree_log_mass(trie: CodeTrie, item_logp: torch.Tensor) -> list[torch.Tensor]:
    """(B, n_items) log-probabilities → per depth 1 … depth, (B, n_nodes) log of the probability mass
    below each node (the last depth's nodes are the items themselves)."""
    p = item_logp.exp()
    out = []
    for nodes, table in zip(trie.item_nodes, trie.children[1:], strict=True):
        mass = p.new_zeros(p.shape[0], table.shape[0]).index_add_(1, nodes, p)
        out.append(mass.clamp_min(torch.finfo(p.dtype).tiny).log())
    return [*out, item_logp]


def _guide(guide: torch.Tensor, child: torch.Tensor, weight: float) -> torch.Tensor:
    """(B, n_nodes) guide, (B | 1, K, V) child nodes (-1: none) → (B, K, V) bonus (0 where no child)."""
    b = guide.shape[0]
    child = child.expand(b, *child.shape[1:])
    got = guide.gather(1, child.clamp(min=0).flatten(1)).view(child.shape)
    return weight * got.masked_fill(child < 0, 0.0)


def _extend(prefix: torch.Tensor, parent: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    kept = prefix.gather(1, parent.unsqueeze(-1).expand(-1, -1, prefix.shape[-1]))
    return torch.cat([kept, code.unsqueeze(-1)], dim=-1)


def _next_logp(model: GRM, ctx: Context, prefix: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    level = prefix.shape[-1]
    hidden = model.sid_hidden(ctx, prefix, allowed)[:, :, -1]
    return torch.log_softmax(model.heads[level](hidden).float(), dim=-1)


@torch.no_grad()
def beam_search(
    model: GRM, batch: Batch, trie: CodeTrie, beam: int, creative: bool = True, item_weight: float | None = None
) -> Decoded:
    """Top ``beam`` catalogue items (and, with ``creative``, a creative path each) per user. A model with the
    dense item head is guided by it with ``item_weight`` (default: the model's ``item_score_weight``; 0:
    SID likelihood alone); scores are then log p_SID + weight · log p_head."""
    n_content = len(model.cfg.content_sizes)
    if trie.depth != n_content:
        raise ValueError(f"trie has {trie.depth} levels, the model {n_content} content levels")
    ctx = model.encode(batch)
    weight = (model.cfg.item_score_weight if item_weight is None else item_weight) if model.cfg.item_head else 0.0
    guide = subtree_log_mass(trie, model.item_logp(ctx.hidden[:, -1])) if weight > 0 else None
    allowed = ctx.valid.unsqueeze(1)  # beams branch off the last position: the whole context is visible
    root = trie.children[0][0].view(1, 1, -1)
    logp = torch.log_softmax(model.heads[0](ctx.hidden[:, -1]).float(), dim=-1).unsqueeze(1)
    bonus = _guide(guide[0], root, weight) if guide is not None else None
    scores, _, code = _step(logp.new_zeros(logp.shape[0], 1), logp, beam, root >= 0, bonus)
    nodes = root[0, 0][code]
    prefix = code.unsqueeze(-1)
    for level in range(1, n_content):
        table = trie.children[level]
        nxt = table[nodes.clamp(min=0)]  # (B, K, V): child node per code, -1 where no such path
        logp = _next_logp(model, ctx, prefix, allowed)
        bonus = _guide(guide[level], nxt, weight) if guide is not None else None
        scores, parent, code = _step(scores, logp, beam, nxt >= 0, bonus)
        nodes = nxt.flatten(1).gather(1, parent * nxt.shape[-1] + code)
        prefix = _extend(prefix, parent, code)
    items = nodes.masked_fill(torch.isinf(scores), -1)
    if guide is not None:
        # the content prefix rides in the creative slot: reordered() keeps any (B, K, ·) aligned
        final = scores + weight * guide[-1].gather(1, items.clamp(min=0))
        ranked = Decoded(items, scores, prefix).reordered(final)
        items, scores, prefix = ranked.items, ranked.scores, ranked.creative
    first_creative = prefix.shape[-1]
    if creative:
        for _ in model.cfg.creative_sizes:
            logp = _next_logp(model, ctx, prefix, allowed)
            scores, parent, code = _step(scores, logp, beam, None)
            items = items.gather(1, parent)
            prefix = _extend(prefix, parent, code)
    return Decoded(items, scores, prefix[..., first_creative:])


def seen_mask(items: torch.Tensor, seen: Sequence[np.ndarray]) -> torch.Tensor:
    """(B, K) bool: which ranked item rows are in each user's ``seen`` rows."""
    width = max(1, max((len(h) for h in seen), default=0))
    padded = np.full((len(seen), width), -2, dtype=np.int64)  # -2 matches neither an item nor the -1 pad
    for i, h in enumerate(seen):
        padded[i, : len(h)] = h
    table = torch.from_numpy(padded).to(items.device)
    return (items.unsqueeze(-1) == table.unsqueeze(1)).any(-1)


def drop_seen(decoded: Decoded, seen: Sequence[np.ndarray]) -> Decoded:
    """``decoded`` without the items in ``seen`` (per user): they move to the end as -1 with score -inf."""
    hit = seen_mask(decoded.items, seen)
    masked = Decoded(decoded.items.masked_fill(hit, -1), decoded.scores, decoded.creative)
    return masked.reordered(decoded.scores.masked_fill(hit, float("-inf")))


def grm_ranker(
    model: GRM, codes: np.ndarray, trie: CodeTrie, beam: int, k: int, device: torch.device | str = "cpu",
    exclude_seen: bool = True,
) -> Callable[[Sequence[np.ndarray], Sequence[Sequence[int]]], np.ndarray]:
    """(Histories as item rows, profile features) → (B, k) ranked item rows (-1 pads) by constrained beam
    search, without the items of the history unless ``exclude_seen`` is off."""
    trie = trie.to(device)

    def rank(histories: Sequence[np.ndarray], profiles: Sequence[Sequence[int]]) -> np.ndarray:
        batch = make_batch(histories, codes, model.cfg.max_recent, model.cfg.max_summary, profiles).to(device)
        decoded = beam_search(model, batch, trie, max(beam, k), creative=False)
        if exclude_seen:
            decoded = drop_seen(decoded, histories)
        return decoded.items[:, :k].cpu().numpy()

    return rank
