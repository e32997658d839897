"""The content trie and constrained beam search: no invalid path can come out, whatever the model says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rag_recsys.grm.config import GRMConfig
from rag_recsys.grm.data import Batch, add_dedup_level, make_batch
from rag_recsys.grm.decoding import beam_search
from rag_recsys.grm.model import GRM
from rag_recsys.grm.trie import build_trie


def _catalogue(seed: int, n: int = 60, sizes: tuple[int, ...] = (4, 3, 5)) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    paths = np.stack([rng.integers(0, s, n) for s in sizes], axis=1)
    codes, dedup = add_dedup_level(paths)
    return codes, [*sizes, dedup]


def test_trie_contains_exactly_the_catalogue() -> None:
    codes, sizes = _catalogue(0)
    trie = build_trie(codes, sizes)
    catalogue = {tuple(r) for r in codes.tolist()}
    for path in np.ndindex(*sizes):
        assert trie.contains(list(path)) == (path in catalogue)
    assert not trie.contains([0, 0])  # a prefix is not a path
    assert not trie.contains([99, 0, 0, 0])


def test_trie_leaves_are_item_rows() -> None:
    codes, sizes = _catalogue(1)
    trie = build_trie(codes, sizes)
    for row, path in enumerate(codes.tolist()):
        node = 0
        for depth, code in enumerate(path):
            node = int(trie.children[depth][node, code])
        assert node == row


def test_trie_rejects_duplicate_paths() -> None:
    with pytest.raises(ValueError, match="dedup"):
        build_trie(np.array([[0, 1], [0, 1]]), [2, 2])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("beam", [1, 7, 200])
def test_beam_search_only_returns_catalogue_items(seed: int, beam: int) -> None:
    torch.manual_seed(seed)
    codes, sizes = _catalogue(seed)
    model = GRM(GRMConfig(content_sizes=sizes, d_model=16, n_layers=1, n_heads=2, d_ff=32, max_recent=5)).eval()
    # an untrained model: its distribution is arbitrary, so only the trie keeps paths valid
    trie = build_trie(codes, sizes)
    histories = [np.array([3, 1, 4]), np.array([], dtype=np.int64), np.arange(12)]
    batch = make_batch(histories, codes, model.cfg.max_recent, model.cfg.max_summary)
    out = beam_search(model, batch, trie, beam)
    valid = out.items >= 0
    assert valid.sum(dim=1).tolist() == [min(beam, len(codes))] * len(histories)
    assert (out.items[valid] < len(codes)).all()
    for row in out.items[valid].tolist():
        assert trie.contains(codes[row].tolist())
    assert (torch.isinf(out.scores) == ~valid).all()
    for user in range(len(histories)):
        scores = out.scores[user][valid[user]]
        assert (scores[:-1] >= scores[1:]).all()  # best first
        assert len(set(out.items[user][valid[user]].tolist())) == int(valid[user].sum())  # no item twice


def test_beam_search_scores_are_path_log_probabilities() -> None:
    torch.manual_seed(0)
    codes, sizes = _catalogue(3, n=20)
    model = GRM(GRMConfig(content_sizes=sizes, d_model=16, n_layers=1, n_heads=2, d_ff=32, max_recent=5)).eval()
    trie = build_trie(codes, sizes)
    batch = make_batch([np.array([1, 2])], codes, 5, 0)
    out = beam_search(model, batch, trie, beam=len(codes))
    # with a beam as wide as the catalogue the search is exhaustive: probabilities over the trie sum to ≤ 1
    total = torch.logsumexp(out.scores[0], dim=0)
    assert float(total) <= 1e-5
    # and the best path's score equals the model's chained log-probabilities (teacher forcing)
    best = codes[int(out.items[0, 0])]
    with torch.no_grad():
        logp = _teacher_forced_logp(model, batch, best)
    assert float(out.scores[0, 0]) == pytest.approx(float(logp), abs=1e-4)


def _teacher_forced_logp(model: GRM, batch: Batch, path: np.ndarray) -> torch.Tensor:
    ctx = model.encode(batch)
    logp = torch.log_softmax(model.heads[0](ctx.hidden[:, -1]), -1)[0, path[0]]
    hidden = model.sid_hidden(ctx, torch.as_tensor(path[None, None, :-1]), ctx.valid.unsqueeze(1))
    for level in range(1, len(path)):
        logp = logp + torch.log_softmax(model.heads[level](hidden[0, 0, level - 1]), -1)[path[level]]
    return logp


def test_creative_channel_is_free_to_combine() -> None:
    torch.manual_seed(0)
    codes, sizes = _catalogue(4, n=10)
    creative_sizes = [3, 2]
    model = GRM(GRMConfig(content_sizes=sizes, creative_sizes=creative_sizes, d_model=16, n_layers=1, n_heads=2,
                          d_ff=32, max_recent=5)).eval()
    rng = np.random.default_rng(0)
    full = np.column_stack([codes, rng.integers(0, 3, 10), rng.integers(0, 2, 10)])
    trie = build_trie(codes, sizes)
    batch = make_batch([np.array([0, 1])], full, 5, 0)
    out = beam_search(model, batch, trie, beam=60)
    valid = out.items[0] >= 0
    pairs = {(int(i), tuple(c)) for i, c in zip(out.items[0][valid].tolist(), out.creative[0][valid].tolist(),
                                                strict=True)}
    assert len(pairs) == 60  # 10 items × 6 creative paths: every combination, not only the catalogue's own
    assert all(0 <= c[0] < 3 and 0 <= c[1] < 2 for _, c in pairs)
