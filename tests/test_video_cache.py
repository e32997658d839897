"""The SID-indexed video cache: the paper's three hit levels on a real SQLite index and a real media folder,
the accepted-first order, tokenizer versions kept apart, byte-capped eviction, and ids that cannot leave the
media folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag_recsys.media_store import LocalMediaStore, check_video_id
from rag_recsys.video_cache import SidKey, SQLiteVideoIndex, VideoCache, nearest_row, shared_prefix
from tools.errors import InputError

TOK = "ragvid-dsid-v1+test"
# content embeddings by first code: 0 and 1 are close (cosine 0.8), 2 is orthogonal to both
EMBEDDINGS = {0: np.array([1.0, 0.0, 0.0]), 1: np.array([0.8, 0.6, 0.0]), 2: np.array([0.0, 0.0, 1.0]),
              3: np.array([0.6, 0.8, 0.0])}  # fmt: skip


def embed(content: Sequence[int]) -> np.ndarray:
    return EMBEDDINGS[content[0]]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def key(content: Sequence[int], creative: Sequence[int], tokenizer: str = TOK) -> SidKey:
    return SidKey(tokenizer=tokenizer, content=tuple(content), creative=tuple(creative))


@pytest.fixture
def media_file(tmp_path: Path) -> Path:
    file = tmp_path / "render.mp4"
    file.write_bytes(b"\0" * 1000)
    return file


def make_cache(tmp_path: Path, cap_bytes: int | None = None) -> VideoCache:
    return VideoCache(SQLiteVideoIndex(tmp_path / "cache" / "index.sqlite"), LocalMediaStore(tmp_path / "media"),
                      embed, cap_bytes=cap_bytes, clock=Clock())  # fmt: skip


def test_empty_cache_serves_nothing_and_asks_for_the_pair(tmp_path: Path) -> None:
    answer = make_cache(tmp_path).answer(key([0, 1, 2], [3, 4]))
    assert answer.hit == "empty" and answer.video is None and answer.generate == key([0, 1, 2], [3, 4])


def test_exact_hit_serves_the_pair_and_generates_nothing(tmp_path: Path, media_file: Path) -> None:
    cache = make_cache(tmp_path)
    made = cache.add(key([0, 1, 2], [3, 4]), {".mp4": media_file}, accepted=True)
    cache.add(key([0, 1, 2], [3, 5]), {".mp4": media_file}, accepted=True)
    answer = cache.answer(key([0, 1, 2], [3, 4]))
    assert answer.hit == "exact" and answer.video is not None and answer.video.video_id == made.video_id
    assert answer.generate is None
    served = cache.path(made.video_id)
    assert served is not None and served.read_bytes() == media_file.read_bytes()


def test_creative_miss_serves_the_content_with_the_longest_shared_creative_prefix(
    tmp_path: Path, media_file: Path
) -> None:
    cache = make_cache(tmp_path)
    cache.add(key([0, 1, 2], [1, 4]), {".mp4": media_file}, accepted=True)
    near = cache.add(key([0, 1, 2], [3, 5]), {".mp4": media_file}, accepted=True)
    cache.add(key([0, 1, 3], [3, 4]), {".mp4": media_file}, accepted=True)  # another product, the right style
    answer = cache.answer(key([0, 1, 2], [3, 4]))
    assert answer.hit == "creative_miss" and answer.video is not None and answer.video.video_id == near.video_id
    assert answer.generate == key([0, 1, 2], [3, 4])


def test_content_miss_serves_the_nearest_content_embedding(tmp_path: Path, media_file: Path) -> None:
    cache = make_cache(tmp_path)
    near = cache.add(key([1, 0, 0], [0, 0]), {".mp4": media_file}, accepted=True)
    cache.add(key([2, 0, 0], [0, 0]), {".mp4": media_file}, accepted=True)
    answer = cache.answer(key([0, 5, 5], [0, 0]))
    assert answer.hit == "content_miss" and answer.video is not None and answer.video.video_id == near.video_id
    assert answer.content_cosine == pytest.approx(0.8) and answer.generate == key([0, 5, 5], [0, 0])


def test_unaccepted_runs_are_served_only_when_nothing_accepted_matches(tmp_path: Path, media_file: Path) -> None:
    cache = make_cache(tmp_path)
    rejected_exact = cache.add(key([0, 1, 2], [3, 4]), {".mp4": media_file}, accepted=False)
    only = cache.answer(key([0, 1, 2], [3, 4]))
    assert only.hit == "exact" and only.video is not None and only.video.video_id == rejected_exact.video_id
    assert not only.video.accepted and only.generate is None  # no re-rolling until accepted

    accepted_variant = cache.add(key([0, 1, 2], [0, 0]), {".mp4": media_file}, accepted=True)
    answer = cache.answer(key([0, 1, 2], [3, 4]))
    assert answer.hit == "creative_miss" and answer.video is not None
    assert answer.video.video_id == accepted_variant.video_id and answer.generate is None

    # nearest neighbour: an accepted video beats a nearer unaccepted one
    cache.add(key([3, 0, 0], [0, 0]), {".mp4": media_file}, accepted=False)  # cosine 0.6 to content 1
    far = cache.add(key([2, 0, 0], [0, 0]), {".mp4": media_file}, accepted=True)  # cosine 0.0
    wrong = cache.answer(key([1, 9, 9], [0, 0]))
    assert wrong.video is not None and wrong.video.key.content[0] == 0  # content 0: accepted, cosine 0.8
    assert far.video_id != wrong.video.video_id


def test_nearest_row_prefers_accepted_rows() -> None:
    embeddings = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert nearest_row(np.array([1.0, 0.0]), embeddings, np.array([False, True])) == (1, 0.0)
    assert nearest_row(np.array([1.0, 0.0]), embeddings, np.array([False, False])) == (0, 1.0)
    assert nearest_row(np.array([1.0, 0.0]), np.zeros((0, 2)), np.zeros(0, dtype=bool)) is None
    assert shared_prefix([3, 4], [3, 5]) == 1 and shared_prefix([3, 4], [3, 4]) == 2 and shared_prefix([1], [2]) == 0


def test_codes_of_another_tokenizer_version_never_match(tmp_path: Path, media_file: Path) -> None:
    cache = make_cache(tmp_path)
    cache.add(key([0, 1, 2], [3, 4], tokenizer="ragvid-dsid-v1+older"), {".mp4": media_file}, accepted=True)
    assert cache.answer(key([0, 1, 2], [3, 4])).hit == "empty"


def test_eviction_keeps_media_under_the_cap_least_recently_served_first(tmp_path: Path, media_file: Path) -> None:
    record = tmp_path / "render.run.json"
    record.write_text("{}")
    per_video = 1000 + 2
    cache = make_cache(tmp_path, cap_bytes=3 * per_video)
    first = cache.add(key([0, 0, 0], [0, 0]), {".mp4": media_file, ".run.json": record}, accepted=True)
    second = cache.add(key([1, 0, 0], [0, 0]), {".mp4": media_file, ".run.json": record}, accepted=True)
    third = cache.add(key([2, 0, 0], [0, 0]), {".mp4": media_file, ".run.json": record}, accepted=True)
    assert cache.answer(key([0, 0, 0], [0, 0])).hit == "exact"  # `first` is now the most recently served
    fourth = cache.add(key([3, 0, 0], [0, 0]), {".mp4": media_file, ".run.json": record}, accepted=True)
    assert cache.index.get(second.video_id) is None and cache.path(second.video_id) is None
    assert not list((tmp_path / "media").rglob(f"{second.video_id}*"))
    for kept in (first, third, fourth):
        assert cache.path(kept.video_id) is not None and cache.path(kept.video_id, ".run.json") is not None
    assert cache.index.total_bytes() == 3 * per_video
    assert sum(f.stat().st_size for f in (tmp_path / "media").rglob("*") if f.is_file()) == 3 * per_video


def test_a_video_larger_than_the_cap_is_kept_alone(tmp_path: Path, media_file: Path) -> None:
    cache = make_cache(tmp_path, cap_bytes=500)
    old = cache.add(key([0, 0, 0], [0, 0]), {".mp4": media_file}, accepted=True)
    new = cache.add(key([1, 0, 0], [0, 0]), {".mp4": media_file}, accepted=True)
    assert cache.index.get(old.video_id) is None and cache.index.get(new.video_id) is not None


@pytest.mark.parametrize("bad", ["../" + "0" * 29, "/etc/passwd", "A" * 32, "0" * 31, "0" * 32 + "/x", ""])
def test_ids_that_are_not_video_ids_are_refused_by_name(tmp_path: Path, bad: str) -> None:
    cache = make_cache(tmp_path)
    with pytest.raises(InputError) as info:
        cache.path(bad)
    assert info.value.field == "video_id"
    with pytest.raises(InputError):
        cache.media.path(bad, ".mp4")
    with pytest.raises(InputError) as suffix:
        cache.media.path("0" * 32, "/../../x")
    assert suffix.value.field == "suffix"
    assert check_video_id("0" * 32) == "0" * 32


def test_a_failed_copy_leaves_nothing_behind(tmp_path: Path) -> None:
    cache = make_cache(tmp_path)
    with pytest.raises(OSError):
        cache.add(key([0, 0, 0], [0, 0]), {".mp4": tmp_path / "missing.mp4"}, accepted=True)
    assert not [f for f in (tmp_path / "media").rglob("*") if f.is_file()]
    assert cache.index.total_bytes() == 0


def test_another_process_additions_are_seen_and_the_index_survives_a_reopen(tmp_path: Path, media_file: Path) -> None:
    api = make_cache(tmp_path)
    assert api.answer(key([0, 0, 0], [0, 0])).hit == "empty"  # loads the (empty) embedding matrix
    worker = make_cache(tmp_path)  # its own connection, as a worker process has
    made = worker.add(key([1, 0, 0], [0, 0]), {".mp4": media_file}, accepted=True)
    answer = api.answer(key([0, 0, 0], [0, 0]))
    assert answer.hit == "content_miss" and answer.video is not None and answer.video.video_id == made.video_id
    reopened = make_cache(tmp_path)
    assert reopened.answer(key([1, 0, 0], [0, 0])).hit == "exact"


def test_another_aspect_ratio_of_the_pair_is_a_creative_miss(tmp_path: Path, media_file: Path) -> None:
    cache = make_cache(tmp_path)
    tall = cache.add(key([0, 1, 2], [3, 4]), {".mp4": media_file}, accepted=True)  # 9:16
    wide = cache.answer(key([0, 1, 2], [3, 4]), aspect="16:9")
    assert wide.hit == "creative_miss" and wide.video is not None and wide.video.video_id == tall.video_id
    assert wide.generate == key([0, 1, 2], [3, 4]) and cache.made(key([0, 1, 2], [3, 4]), "16:9") is None
    made = cache.add(key([0, 1, 2], [3, 4]), {".mp4": media_file}, accepted=True, aspect="16:9")
    assert cache.answer(key([0, 1, 2], [3, 4]), aspect="16:9").video.video_id == made.video_id  # type: ignore[union-attr]
    assert cache.answer(key([0, 1, 2], [3, 4])).video.video_id == tall.video_id  # type: ignore[union-attr]
    assert cache.made(key([0, 1, 2], [3, 4]), "16:9") == cache.index.get(made.video_id)
