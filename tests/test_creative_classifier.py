"""rag_recsys.creative_classifier: look and rhythm read from creative vectors, on synthetic renders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag_recsys.creative_classifier import CreativeClassifier, fit_classifier


def _renders(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """3 looks × 2 rhythms × 6 renders: the look moves components 0-1, the rhythm component 2, and a
    'product' factor with a large spread moves components 0 and 3 in every class alike."""
    rng = np.random.default_rng(seed)
    rows, paths = [], []
    for look in range(3):
        for rhythm in range(2):
            for _ in range(6):
                product = rng.normal() * 3.0
                rows.append(np.array([look + product, -look, rhythm * 2.0, product, 0.0]) + rng.normal(0, 0.2, 5))
                paths.append([look, rhythm])
    return np.array(rows), np.array(paths)


def test_reads_look_and_rhythm_despite_a_product_factor() -> None:
    X, paths = _renders()
    classifier = fit_classifier(X, paths, [4, 3])
    test, truth = _renders(seed=1)
    read = np.array([classifier.match(x).path for x in test])
    assert (read == truth).all(axis=1).mean() >= 0.95
    # the shared 'product' spread along component 0 would mislead a plain nearest-mean rule
    means = {look: X[paths[:, 0] == look, :2].mean(axis=0) for look in range(3)}
    nearest = [min(means, key=lambda k: float(np.linalg.norm(x[:2] - means[k]))) for x in test]
    assert np.mean(np.array(nearest) == truth[:, 0]) < 0.9


def test_probabilities_cover_the_codebook_and_unseen_codes_get_none() -> None:
    X, paths = _renders()
    match = fit_classifier(X, paths, [4, 3]).match(X[0])
    assert len(match.look_probabilities) == 4 and len(match.rhythm_probabilities) == 3
    assert sum(match.look_probabilities) == pytest.approx(1.0, abs=1e-3)
    assert match.look_probabilities[3] == 0.0 and match.rhythm_probabilities[2] == 0.0  # never rendered


def test_a_still_has_no_rhythm() -> None:
    X, paths = _renders()
    match = fit_classifier(X, paths, [4, 3]).match(X[0], rhythm=False)
    assert match.path[1] == -1 and not any(match.rhythm_probabilities)


def test_save_and_load_read_the_same(tmp_path: Path) -> None:
    X, paths = _renders()
    classifier = fit_classifier(X, paths, [4, 3])
    classifier.save(tmp_path / "c.npz")
    again = CreativeClassifier.load(tmp_path / "c.npz")
    assert [again.match(x).path for x in X] == [classifier.match(x).path for x in X]
    classifier.save(tmp_path / "d.npz")
    assert (tmp_path / "c.npz").read_bytes() == (tmp_path / "d.npz").read_bytes()


def test_bad_training_input_is_named() -> None:
    X, paths = _renders()
    with pytest.raises(ValueError, match="outside the codebook sizes"):
        fit_classifier(X, paths, [2, 2])
    with pytest.raises(ValueError, match="one rhythm"):
        fit_classifier(X, np.column_stack([paths[:, 0], np.zeros(len(paths), dtype=int)]), [4, 3])
