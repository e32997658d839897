"""The GRM's dense item head: it guides the constrained beam search (items still come only from the trie),
it learns, and its weight is chosen on validation and kept in the checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from rag_recsys.grm.config import GRMConfig
from rag_recsys.grm.data import Batch, add_dedup_level, make_batch
from rag_recsys.grm.decoding import beam_search, subtree_log_mass
from rag_recsys.grm.model import GRM
from rag_recsys.grm.pipeline import ITEM_WEIGHTS, load_model
from rag_recsys.grm.trainer import seed_everything
from rag_recsys.grm.trie import build_trie
from ragvid.commands.rec import rec_app


def _catalogue(n: int = 24) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(0)
    codes, dedup = add_dedup_level(np.stack([rng.integers(0, 3, n), rng.integers(0, 4, n)], axis=1))
    return codes, [3, 4, dedup]


def _model(codes: np.ndarray, sizes: list[int], weight: float = 1.0) -> GRM:
    return GRM(GRMConfig(content_sizes=sizes, d_model=16, n_layers=1, n_heads=2, d_ff=32, max_recent=5,
                         n_items=len(codes), item_head=True, item_score_weight=weight)).eval()


def test_item_head_needs_the_item_table() -> None:
    with pytest.raises(ValueError, match="item_head"):
        GRMConfig(content_sizes=[4, 2], item_head=True)


def _sid_logp(model: GRM, batch: Batch, user: int, path: np.ndarray) -> float:
    """log p_SID(path) by teacher forcing, for one user of ``batch``."""
    ctx = model.encode(batch)
    logp = torch.log_softmax(model.heads[0](ctx.hidden[user, -1]), -1)[path[0]]
    hidden = model.sid_hidden(ctx, torch.as_tensor(np.tile(path[:-1], (len(ctx.hidden), 1, 1))),
                              ctx.valid.unsqueeze(1))
    for level in range(1, len(path)):
        logp = logp + torch.log_softmax(model.heads[level](hidden[user, 0, level - 1]), -1)[path[level]]
    return float(logp)


@pytest.mark.parametrize("weight", [0.0, 3.0])
def test_guided_search_scores_items_by_sid_plus_weighted_head(weight: float) -> None:
    torch.manual_seed(0)
    codes, sizes = _catalogue()
    trie = build_trie(codes, sizes)
    model = _model(codes, sizes, weight=weight)
    batch = make_batch([np.array([1, 5, 7]), np.array([2])], codes, 5, 0)
    out = beam_search(model, batch, trie, beam=len(codes))  # exhaustive: every item comes out, once
    with torch.no_grad():
        head = model.item_logp(model.encode(batch).hidden[:, -1])
        for user in range(2):
            assert sorted(out.items[user].tolist()) == list(range(len(codes)))
            for item, score in zip(out.items[user].tolist(), out.scores[user].tolist(), strict=True):
                expected = _sid_logp(model, batch, user, codes[item]) + weight * float(head[user, item])
                assert score == pytest.approx(expected, abs=1e-4)
            assert (out.scores[user][:-1] >= out.scores[user][1:]).all()
    # weight 0 given at the call is the SID likelihood alone, whatever the model's own weight
    plain_model = _model(codes, sizes, weight=0.0)
    plain_model.load_state_dict(model.state_dict())
    plain = beam_search(plain_model, batch, trie, beam=6)
    unguided = beam_search(model, batch, trie, beam=6, item_weight=0.0)
    assert torch.equal(plain.items, unguided.items) and torch.allclose(plain.scores, unguided.scores)
    if weight:
        assert not torch.equal(out.items[:, :6], unguided.items)  # the head changes the ranking


@pytest.mark.parametrize("head", [False, True])
def test_excluded_items_never_come_out_and_the_beam_stays_full(head: bool) -> None:
    torch.manual_seed(0)
    codes, sizes = _catalogue()
    trie = build_trie(codes, sizes)
    model = GRM(GRMConfig(content_sizes=sizes, d_model=16, n_layers=1, n_heads=2, d_ff=32, max_recent=5,
                          n_items=len(codes), item_head=head, item_score_weight=2.0)).eval()
    histories = [np.arange(0, 20), np.array([3])]
    batch = make_batch(histories, codes, 5, 0)
    free = beam_search(model, batch, trie, beam=4)
    out = beam_search(model, batch, trie, beam=4, exclude=histories)
    for user, history in enumerate(histories):
        assert len(set(out.items[user].tolist())) == 4 and (out.items[user] >= 0).all()  # no empty slot
        assert not set(out.items[user].tolist()) & set(history.tolist())
    assert set(free.items[0].tolist()) <= set(range(20))  # unmasked, the top 4 would all be history items
    # everything excluded but two items: only those two can come out
    only = beam_search(model, batch, trie, beam=4, exclude=[np.arange(2, len(codes))] * 2)
    assert sorted(only.items[0][only.items[0] >= 0].tolist()) == [0, 1]


def test_subtree_mass_is_the_heads_probability_below_each_node() -> None:
    codes, sizes = _catalogue()
    trie = build_trie(codes, sizes)
    item_logp = torch.log_softmax(torch.randn(2, len(codes)), dim=-1)
    masses = subtree_log_mass(trie, item_logp)
    assert len(masses) == len(sizes) and torch.equal(masses[-1], item_logp)
    for depth in range(1, len(sizes)):
        for row in range(len(codes)):
            node = int(trie.item_nodes[depth - 1][row])
            below = [r for r in range(len(codes)) if (codes[r, :depth] == codes[row, :depth]).all()]
            expected = torch.logsumexp(item_logp[:, below], dim=1)
            assert torch.allclose(masses[depth - 1][:, node], expected, atol=1e-5)


def test_item_head_learns_the_next_item() -> None:
    """Histories walk the catalogue in row order; after training, the head's top item is the next row."""
    seed_everything(0)
    codes, sizes = _catalogue()
    n = len(codes)
    model = _model(codes, sizes)
    model.train()
    histories = [np.arange(s, s + 4) % n for s in range(n)]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        batch = make_batch(histories, codes, 5, 0, with_targets=True)
        loss = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        queries = [h[:3] for h in histories]
        hidden = model.encode(make_batch(queries, codes, 5, 0)).hidden[:, -1]
        top = model.item_logp(hidden).argmax(-1).numpy()
    expected = np.asarray([h[3] for h in histories])
    assert (top == expected).mean() >= 0.9


def test_rec_train_chooses_the_weight_on_validation(tmp_path: Path) -> None:
    data = tmp_path / "toy"
    data.mkdir()
    (data / "Toy.index.json").write_text(json.dumps({str(i): [f"<a_{i // 6}>", f"<b_{i % 3}>"] for i in range(30)}))
    (data / "Toy.inter.json").write_text(json.dumps({str(u): [str((u + k) % 30) for k in range(6)]
                                                     for u in range(60)}))
    out = tmp_path / "model"
    result = CliRunner().invoke(rec_app, ["train", str(data), "--out", str(out), "--preset", "tiny", "--epochs", "3",
                                          "--eval-every", "1", "-q", "--item-head"])
    assert result.exit_code == 0, result.output
    assert "dense item head weight" in result.stderr
    provenance = json.loads((out / "train.json").read_text())
    sweep = provenance["item_weight_valid"]
    assert set(sweep) == {str(w) for w in ITEM_WEIGHTS}
    chosen = provenance["item_score_weight"]
    assert sweep[str(chosen)]["ndcg_at_10"] == max(m["ndcg_at_10"] for m in sweep.values())
    loaded = load_model(out)
    assert isinstance(loaded.model, GRM)
    assert loaded.model.cfg.item_head and loaded.model.cfg.item_score_weight == chosen
    assert provenance["model_config"]["n_items"] == 30 and provenance["model_config"]["item_score_weight"] == chosen
