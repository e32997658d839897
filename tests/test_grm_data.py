"""Index and interaction parsing, leave-one-out splits and batch layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag_recsys.grm.data import (
    item_codes,
    leave_one_out,
    load_interactions,
    make_batch,
    parse_token_index,
    profile_features,
)
from rag_recsys.grm.datasets import dataset_dir, load_dataset, read_sid_index
from ragvid.settings import Settings
from tools.errors import InputError


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_token_index_parses_letter_tokens_and_ints(tmp_path: Path) -> None:
    index = _write(tmp_path / "x.index.json", {"0": ["<a_3>", "<b_1>", "<c_0>"], "1": [2, 0, 5]})
    assert parse_token_index(index) == {"0": [3, 1, 0], "1": [2, 0, 5]}


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"0": ["<a_3>", "<c_1>"]}, "['0'][1]"),  # level letter out of order
        ({"0": "a3"}, "['0']"),
        ([1, 2], "(top level)"),
        ({"0": [1, -1]}, "['0'][1]"),
    ],
)
def test_token_index_errors_name_file_and_field(tmp_path: Path, doc: object, field: str) -> None:
    index = _write(tmp_path / "bad.index.json", doc)
    with pytest.raises(InputError) as err:
        parse_token_index(index)
    message = str(err.value)
    assert message.startswith(f"{index}: {field}:") and "\n" not in message


def test_malformed_json_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "u.inter.json"
    path.write_text('{"0": [1, 2,')
    with pytest.raises(InputError, match=r"u\.inter\.json: file: cannot read"):
        load_interactions(path)


def test_item_codes_add_a_dedup_level_and_check_sizes() -> None:
    items = item_codes({"a": [0, 1], "b": [0, 1], "c": [1, 0]}, content_sizes=[2, 2])
    assert items.content_sizes == [2, 2, 2]
    assert items.codes.tolist() == [[0, 1, 0], [0, 1, 1], [1, 0, 0]]
    with pytest.raises(InputError, match="level sizes"):
        item_codes({"a": [0, 5]}, content_sizes=[2, 2])


def test_leave_one_out_holds_out_the_last_two_items() -> None:
    items = item_codes({str(i): [i % 3, i] for i in range(6)})
    split = leave_one_out({"u": ["0", "1", "2", "3", "4"], "short": ["1", "2"], "v": ["5", "4", "3"]}, items, "f")
    assert [s.tolist() for s in split.train] == [[0, 1, 2], [5]]
    assert [h.tolist() for h in split.valid.histories] == [[0, 1, 2], [5]]
    assert split.valid.targets.tolist() == [3, 4]
    assert [h.tolist() for h in split.test.histories] == [[0, 1, 2, 3], [5, 4]]
    assert split.test.targets.tolist() == [4, 3]


def test_unknown_item_in_interactions_names_the_user() -> None:
    items = item_codes({"0": [0], "1": [1]})
    with pytest.raises(InputError, match=r"f: \['u'\]: item '7' is not in the item index"):
        leave_one_out({"u": ["0", "7", "1"]}, items, "f")


def test_batch_is_right_aligned_with_recency_positions_and_summary() -> None:
    codes = np.arange(20).reshape(10, 2)
    batch = make_batch([np.array([1, 2, 3, 4, 5]), np.array([7])], codes, max_recent=3, max_summary=10,
                       profiles=[[4, 9], []])
    assert batch.recent_mask.tolist() == [[True, True, True], [False, False, True]]
    assert batch.recent[0, :, 0].tolist() == [6, 8, 10]  # items 3, 4, 5
    assert batch.recent_ids.tolist() == [[3, 4, 5], [-1, -1, 7]]
    assert batch.positions[0].tolist() == [2, 1, 0]
    assert batch.summary_ids[0].tolist() == [1, 2] and batch.summary_mask[1].tolist() == [False, False]
    assert batch.profile.tolist() == [[4, 9], [0, 0]]


def test_training_batch_targets_are_the_next_items() -> None:
    codes = np.arange(10)[:, None]
    batch = make_batch([np.array([1, 2, 3])], codes, 5, 0, with_targets=True)
    assert batch.recent[0, :, 0].tolist() == [1, 2]
    assert batch.targets is not None and batch.targets[0, :, 0].tolist() == [2, 3]


def test_profile_features_are_stable_and_order_free() -> None:
    a = profile_features({"age": "25-34", "region": "DE"}, 4096)
    assert a == profile_features({"region": "DE", "age": "25-34"}, 4096)
    assert all(1 <= f <= 4096 for f in a) and len(set(a)) == 2


def test_shipped_data_sets_load() -> None:
    # the Amazon data is read from ../shared/data (or $RAGVID_DATA), never shipped
    folder = dataset_dir("scientific", Settings().data)
    data = load_dataset(folder, folder / "Scientific.rkmeans_native.index.json")
    assert len(data.items.item_ids) == 4344 and len(data.items.content_sizes) == 5
    assert data.items.content_sizes[-1] == 26  # up to 26 items share a 4-level path
    assert read_sid_index(folder / "Scientific.rkmeans_native.index.json") is None
