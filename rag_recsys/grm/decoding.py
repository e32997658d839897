"""Beam search over the content trie, batched over users and beams.

Content levels (with the dedup level) are masked by the trie at every step, so every finished beam is a
catalogue item; creative levels, when the model has them, are free: any creative path may follow any
content path, since new content × creative pairs are what generation is for.

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


def _step(
    scores: torch.Tensor, logp: torch.Tensor, beam: int, valid_next: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Best ``beam`` extensions of (B, K) beams by (B, K, V) next-code log-probs; returns scores, parent
    beam and code, each (B, beam')."""
    cand = scores.unsqueeze(-1) + logp
    if valid_next is not None:
        cand = cand.masked_fill(~valid_next, float("-inf"))
    flat = cand.flatten(1)
    best, idx = flat.topk(min(beam, flat.shape[1]), dim=1)
    vocab = logp.shape[-1]
    return best, idx // vocab, idx % vocab


def _extend(prefix: torch.Tensor, parent: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    kept = prefix.gather(1, parent.unsqueeze(-1).expand(-1, -1, prefix.shape[-1]))
    return torch.cat([kept, code.unsqueeze(-1)], dim=-1)


def _next_logp(model: GRM, ctx: Context, prefix: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    level = prefix.shape[-1]
    hidden = model.sid_hidden(ctx, prefix, allowed)[:, :, -1]
    return torch.log_softmax(model.heads[level](hidden).float(), dim=-1)


@torch.no_grad()
def beam_search(model: GRM, batch: Batch, trie: CodeTrie, beam: int, creative: bool = True) -> Decoded:
    """Top ``beam`` catalogue items (and, with ``creative``, a creative path each) per user."""
    n_content = len(model.cfg.content_sizes)
    if trie.depth != n_content:
        raise ValueError(f"trie has {trie.depth} levels, the model {n_content} content levels")
    ctx = model.encode(batch)
    allowed = ctx.valid.unsqueeze(1)  # beams branch off the last position: the whole context is visible
    root = trie.children[0][0]
    logp = torch.log_softmax(model.heads[0](ctx.hidden[:, -1]).float(), dim=-1).unsqueeze(1)
    scores, _, code = _step(logp.new_zeros(logp.shape[0], 1), logp, beam, (root >= 0).view(1, 1, -1))
    nodes = root[code]
    prefix = code.unsqueeze(-1)
    for level in range(1, n_content):
        table = trie.children[level]
        nxt = table[nodes.clamp(min=0)]  # (B, K, V): child node per code, -1 where no such path
        logp = _next_logp(model, ctx, prefix, allowed)
        scores, parent, code = _step(scores, logp, beam, nxt >= 0)
        nodes = nxt.flatten(1).gather(1, parent * nxt.shape[-1] + code)
        prefix = _extend(prefix, parent, code)
    items = nodes.masked_fill(torch.isinf(scores), -1)
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
    scores = decoded.scores.masked_fill(hit, float("-inf"))
    scores, order = scores.sort(dim=1, descending=True, stable=True)
    items = decoded.items.masked_fill(hit, -1).gather(1, order)
    creative = decoded.creative.gather(1, order.unsqueeze(-1).expand_as(decoded.creative))
    return Decoded(items, scores, creative)


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
