"""Beam search over the content trie, batched over users and beams.

Content levels (with the dedup level) are masked by the trie at every step, so every finished beam is a
catalogue item; creative levels, when the model has them, are free: any creative path may follow any
content path, since new content × creative pairs are what generation is for.

A model with a dense item head guides the search: a content prefix is ranked by its SID log-probability
plus ``w`` × the log of the head's probability mass under that prefix (all items below its trie node), so
at the last level an item scores log p_SID(item) + w · log p_head(item). Without the guide, a beam cut on
SID likelihood alone loses items the head is sure of before the head is asked.

Items the user already has can be left out (``exclude``): the search runs on the trie without them (a
prefix whose items are all left out is closed) and the head's guide ignores them, so the beam fills with
items the user does not have. In the Amazon sets no user interacts with an item twice, and an ad for what
someone already bought is a wasted slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from rag_recsys.grm.data import Batch
from rag_recsys.grm.trie import CodeTrie

if TYPE_CHECKING:  # the GRM ranks through this module: a runtime import would be circular
    from rag_recsys.grm.model import GRM, Context


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


def _below(trie: CodeTrie, per_item: torch.Tensor) -> list[torch.Tensor]:
    """(B, n_items) values → per depth 1 … depth-1, (B, n_nodes) sums over the items below each node."""
    return [per_item.new_zeros(per_item.shape[0], table.shape[0]).index_add_(1, nodes, per_item)
            for nodes, table in zip(trie.item_nodes, trie.children[1:], strict=True)]


def _at(per_node: torch.Tensor, child: torch.Tensor) -> torch.Tensor:
    """(B, n_nodes) values read at (B | 1, K, V) child nodes (-1: none, read as node 0) → (B, K, V)."""
    child = child.expand(per_node.shape[0], *child.shape[1:])
    return per_node.gather(1, child.clamp(min=0).flatten(1)).view(child.shape)


def subtree_log_mass(trie: CodeTrie, item_logp: torch.Tensor) -> list[torch.Tensor]:
    """(B, n_items) log-probabilities → per depth 1 … depth, (B, n_nodes) log of the probability mass
    below each node (the last depth's nodes are the items themselves)."""
    tiny = torch.finfo(item_logp.dtype).tiny
    return [*(mass.clamp_min(tiny).log() for mass in _below(trie, item_logp.exp())), item_logp]


def excluded_items(exclude: Sequence[np.ndarray], n_items: int, device: torch.device | str) -> torch.Tensor:
    """(B, n_items) bool: item rows to leave out, per user (negative rows ignored)."""
    mask = torch.zeros(len(exclude), n_items, dtype=torch.bool)
    for i, rows in enumerate(exclude):
        rows = np.asarray(rows, dtype=np.int64)
        mask[i, torch.from_numpy(rows[(rows >= 0) & (rows < n_items)])] = True
    return mask.to(device)


def _guide(guide: torch.Tensor, child: torch.Tensor, weight: float) -> torch.Tensor:
    """(B, n_nodes) guide, (B | 1, K, V) child nodes (-1: none) → (B, K, V) bonus (0 where no child)."""
    return weight * _at(guide, child).masked_fill(child < 0, 0.0)


def open_nodes(trie: CodeTrie, banned: torch.Tensor) -> list[torch.Tensor]:
    """(B, n_items) banned items → per depth 1 … depth, (B, n_nodes) bool: the node still has an item below
    it that is not banned (the trie with those items taken out, per user)."""
    return [*(count > 0 for count in _below(trie, (~banned).float())), ~banned]


def _valid(child: torch.Tensor, open_: torch.Tensor | None) -> torch.Tensor:
    """(B | 1, K, V) child nodes → which exist and, with ``open_`` (B, n_nodes) given, still lead to an
    item that is not left out."""
    return child >= 0 if open_ is None else (child >= 0) & _at(open_, child)


def _extend(prefix: torch.Tensor, parent: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    kept = prefix.gather(1, parent.unsqueeze(-1).expand(-1, -1, prefix.shape[-1]))
    return torch.cat([kept, code.unsqueeze(-1)], dim=-1)


def _next_logp(model: GRM, ctx: Context, prefix: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    level = prefix.shape[-1]
    hidden = model.sid_hidden(ctx, prefix, allowed)[:, :, -1]
    return torch.log_softmax(model.heads[level](hidden).float(), dim=-1)


@torch.no_grad()
def beam_search(
    model: GRM, batch: Batch, trie: CodeTrie, beam: int, creative: bool = True, item_weight: float | None = None,
    exclude: Sequence[np.ndarray] | None = None,
) -> Decoded:
    """Top ``beam`` catalogue items (and, with ``creative``, a creative path each) per user, without the item
    rows in ``exclude`` (per user) when given. A model with the dense item head is guided by it with
    ``item_weight`` (default: the model's ``item_score_weight``; 0: SID likelihood alone); scores are then
    log p_SID + weight · log p_head."""
    n_content = len(model.cfg.content_sizes)
    if trie.depth != n_content:
        raise ValueError(f"trie has {trie.depth} levels, the model {n_content} content levels")
    ctx = model.encode(batch)
    banned = excluded_items(exclude, trie.n_items, ctx.hidden.device) if exclude is not None else None
    weight = (model.cfg.item_score_weight if item_weight is None else item_weight) if model.cfg.item_head else 0.0
    guide = None
    if weight > 0:
        head = model.item_logp(ctx.hidden[:, -1])
        guide = subtree_log_mass(trie, head if banned is None else head.masked_fill(banned, float("-inf")))
    opened = open_nodes(trie, banned) if banned is not None else None
    allowed = ctx.valid.unsqueeze(1)  # beams branch off the last position: the whole context is visible
    root = trie.children[0][0].view(1, 1, -1)
    logp = torch.log_softmax(model.heads[0](ctx.hidden[:, -1]).float(), dim=-1).unsqueeze(1)
    bonus = _guide(guide[0], root, weight) if guide is not None else None
    valid = _valid(root, opened[0] if opened is not None else None)
    scores, _, code = _step(logp.new_zeros(logp.shape[0], 1), logp, beam, valid, bonus)
    nodes = root[0, 0][code]
    prefix = code.unsqueeze(-1)
    for level in range(1, n_content):
        table = trie.children[level]
        nxt = table[nodes.clamp(min=0)]  # (B, K, V): child node per code, -1 where no such path
        logp = _next_logp(model, ctx, prefix, allowed)
        bonus = _guide(guide[level], nxt, weight) if guide is not None else None
        valid = _valid(nxt, opened[level] if opened is not None else None)
        scores, parent, code = _step(scores, logp, beam, valid, bonus)
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

