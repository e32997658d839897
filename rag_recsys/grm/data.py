"""Item code tables, interaction sequences, leave-one-out splits and model batches.

Interaction files map a user to the items they touched, already in chronological order (the public
Amazon sets carry no timestamps), so sequences are used as stored.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tools.errors import InputError

_TOKEN = re.compile(r"^<([a-z])_(\d+)>$")


@dataclass(frozen=True)
class ItemCodes:
    """The code path of every item: content levels, then the dedup level, then creative levels.

    Row ``i`` is item ``item_ids[i]``; ``codes`` is ``(n_items, n_levels)``.
    """

    item_ids: list[str]
    codes: np.ndarray
    content_sizes: list[int]  # dedup level included, last
    creative_sizes: list[int]

    @property
    def n_content(self) -> int:
        return len(self.content_sizes)

    @property
    def sizes(self) -> list[int]:
        return [*self.content_sizes, *self.creative_sizes]

    def row_of(self) -> dict[str, int]:
        return {item: i for i, item in enumerate(self.item_ids)}


def add_dedup_level(paths: np.ndarray) -> tuple[np.ndarray, int]:
    """Append a level that numbers the items sharing a path (0, 1, … in row order), TIGER-style, so
    every item has a unique path and its own rank slot; returns the codes and the level's size."""
    if len(paths) == 0:
        return np.zeros((0, paths.shape[1] + 1), dtype=np.int64), 1
    _, group = np.unique(paths, axis=0, return_inverse=True)
    group = group.reshape(-1)
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    dedup = np.empty(len(paths), dtype=np.int64)
    dedup[order] = np.arange(len(order)) - run_start
    return np.column_stack([paths.astype(np.int64), dedup]), int(dedup.max()) + 1


def item_codes(
    paths: Mapping[str, Sequence[int]],
    content_sizes: Sequence[int] | None = None,
    creative: Mapping[str, Sequence[int]] | None = None,
    creative_sizes: Sequence[int] = (),
    file: str | Path = "<index>",
) -> ItemCodes:
    """ItemCodes from content paths (and creative paths, when the data has them); sizes default to the
    largest code seen + 1 per level."""
    ids = list(paths)
    if not ids:
        raise InputError("items", "no items", file)
    depths = {len(p) for p in paths.values()}
    if len(depths) != 1:
        raise InputError("items", f"content paths of different lengths {sorted(depths)}", file)
    content = np.asarray([list(paths[i]) for i in ids], dtype=np.int64)
    if (content < 0).any():
        raise InputError("items", "negative code", file)
    sizes = list(content_sizes) if content_sizes is not None else [int(m) + 1 for m in content.max(axis=0)]
    if len(sizes) != content.shape[1] or (content >= np.asarray(sizes)).any():
        raise InputError("items", f"codes do not fit the level sizes {sizes}", file)
    codes, dedup_size = add_dedup_level(content)
    if creative is not None:
        missing = [i for i in ids if i not in creative]
        if missing:
            raise InputError(f"creative[{missing[0]!r}]", "item has no creative path", file)
        extra = np.asarray([list(creative[i]) for i in ids], dtype=np.int64)
        if extra.shape[1] != len(creative_sizes) or (extra >= np.asarray(creative_sizes)).any() or (extra < 0).any():
            raise InputError("creative", f"creative codes do not fit the level sizes {list(creative_sizes)}", file)
        codes = np.column_stack([codes, extra])
    return ItemCodes(ids, codes, [*sizes, dedup_size], list(creative_sizes) if creative is not None else [])


def read_json_object(path: Path, expected: str) -> tuple[dict[str, Any], bytes]:
    """The non-empty JSON object in ``path`` and its bytes; an InputError naming the file otherwise."""
    try:
        raw_bytes = path.read_bytes()
        raw = json.loads(raw_bytes)
    except FileNotFoundError:
        raise InputError("file", "not found", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("file", f"cannot read: {' '.join(str(exc).split())}", path) from None
    if not isinstance(raw, dict) or not raw:
        raise InputError("(top level)", f"expected a non-empty object of {expected}", path)
    return raw, raw_bytes


def parse_token_index(path: Path) -> dict[str, list[int]]:
    """An index file of the TIGER/LETTER family: ``{"item": ["<a_12>", "<b_3>", …]}`` or plain ints."""
    raw, _ = read_json_object(path, "item → code path")
    out: dict[str, list[int]] = {}
    for item, tokens in raw.items():
        if not isinstance(tokens, list) or not tokens:
            raise InputError(f"[{item!r}]", "expected a list of codes", path)
        codes: list[int] = []
        for level, token in enumerate(tokens):
            m = _TOKEN.match(token) if isinstance(token, str) else None
            if m is not None and ord(m.group(1)) - ord("a") == level:
                codes.append(int(m.group(2)))
            elif isinstance(token, int) and not isinstance(token, bool) and token >= 0:
                codes.append(token)
            else:
                raise InputError(f"[{item!r}][{level}]", f"not a level-{level} code: {token!r}", path)
        out[str(item)] = codes
    return out


def load_interactions(path: Path) -> dict[str, list[str]]:
    """``{"user": [item, …]}`` in chronological order; item ids are kept as strings."""
    raw, _ = read_json_object(path, "user → item list")
    out: dict[str, list[str]] = {}
    for user, items in raw.items():
        if not isinstance(items, list) or not all(isinstance(i, str | int) for i in items):
            raise InputError(f"[{user!r}]", "expected a list of item ids", path)
        out[str(user)] = [str(i) for i in items]
    return out


def profile_features(profile: Mapping[str, object], buckets: int) -> list[int]:
    """Hashed ``key=value`` features in 1..buckets (0 is padding); crc32 so ids survive restarts."""
    return [1 + zlib.crc32(f"{key}={profile[key]}".encode()) % buckets for key in sorted(profile)]


def load_profiles(path: Path) -> dict[str, dict[str, object]]:
    """Optional ``<Name>.user.json``: user → flat object of profile fields (age, region, device, …)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("file", f"cannot read: {' '.join(str(exc).split())}", path) from None
    if not isinstance(raw, dict):
        raise InputError("(top level)", "expected an object of user → profile", path)
    for user, profile in raw.items():
        if not isinstance(profile, dict) or not all(isinstance(v, str | int | float | bool) for v in profile.values()):
            raise InputError(f"[{user!r}]", "expected a flat object of profile fields", path)
    return {str(u): p for u, p in raw.items()}


@dataclass(frozen=True)
class Split:
    """Per user: the history (item rows, oldest first), hashed profile features and the held-out target."""

    histories: list[np.ndarray]
    profiles: list[list[int]]
    targets: np.ndarray


@dataclass(frozen=True)
class LeaveOneOut:
    train: list[np.ndarray]  # every sequence without its last two items
    train_profiles: list[list[int]]
    valid: Split
    test: Split


def leave_one_out(
    interactions: Mapping[str, Sequence[str]],
    items: ItemCodes,
    file: str | Path,
    profiles: Mapping[str, Mapping[str, object]] | None = None,
    profile_buckets: int = 4096,
) -> LeaveOneOut:
    """Last item is the test target, second to last the validation target; users with fewer than three
    items cannot be split and are left out."""
    rows = items.row_of()
    seqs: list[np.ndarray] = []
    feats: list[list[int]] = []
    for user, seq in interactions.items():
        if len(seq) < 3:
            continue
        try:
            seqs.append(np.asarray([rows[i] for i in seq], dtype=np.int64))
        except KeyError as exc:
            raise InputError(f"[{user!r}]", f"item {exc.args[0]!r} is not in the item index", file) from None
        feats.append(profile_features((profiles or {}).get(user, {}), profile_buckets))
    if not seqs:
        raise InputError("(top level)", "no user has the 3 interactions leave-one-out needs", file)
    return LeaveOneOut(
        train=[s[:-2] for s in seqs],
        train_profiles=feats,
        valid=Split([s[:-2] for s in seqs], feats, np.asarray([s[-2] for s in seqs])),
        test=Split([s[:-1] for s in seqs], feats, np.asarray([s[-1] for s in seqs])),
    )


@dataclass
class Batch:
    """Model input for B users. Recent items are right-aligned (padding on the left)."""

    recent: torch.Tensor  # (B, T, L) codes
    recent_ids: torch.Tensor  # (B, T) item rows, -1 for items outside the catalogue
    recent_mask: torch.Tensor  # (B, T) bool
    positions: torch.Tensor  # (B, T) distance of each item from the last one
    summary: torch.Tensor  # (B, S, L) codes of older items
    summary_ids: torch.Tensor  # (B, S)
    summary_mask: torch.Tensor  # (B, S) bool
    profile: torch.Tensor  # (B, P) hashed feature ids, 0 = none
    targets: torch.Tensor | None = None  # (B, T, L) codes of the item after each recent one
    target_mask: torch.Tensor | None = None  # (B, T) bool
    target_ids: torch.Tensor | None = None  # (B, T) item rows of the targets, -1 outside the catalogue

    def to(self, device: torch.device | str) -> Batch:
        moved = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()}
        return Batch(**moved)


def make_batch(
    histories: Sequence[np.ndarray],
    codes: np.ndarray,
    max_recent: int,
    max_summary: int,
    profiles: Sequence[Sequence[int]] | None = None,
    with_targets: bool = False,
) -> Batch:
    """Batch of user histories given as rows of ``codes``. With ``with_targets`` each history is a
    training sequence: inputs are all but its last item, targets the item after each input."""
    seqs = [codes[h] for h in histories]
    return make_code_batch(seqs, max_recent, max_summary, profiles, with_targets, [np.asarray(h) for h in histories])


def make_code_batch(
    seqs: Sequence[np.ndarray],
    max_recent: int,
    max_summary: int,
    profiles: Sequence[Sequence[int]] | None = None,
    with_targets: bool = False,
    ids: Sequence[np.ndarray] | None = None,
) -> Batch:
    """``seqs[b]`` is ``(n_b, L)`` codes, oldest first; ``ids[b]`` the item rows (-1: not in the catalogue,
    the default)."""
    n_levels = seqs[0].shape[1]
    rows = list(ids) if ids is not None else [np.full(len(s), -1, dtype=np.int64) for s in seqs]
    inputs = [s[:-1] for s in seqs] if with_targets else list(seqs)
    input_ids = [r[:-1] for r in rows] if with_targets else rows
    recent = [x[-max_recent:] for x in inputs]
    recent_ids = [x[-max_recent:] for x in input_ids]
    older = [x[: max(len(x) - max_recent, 0)][-max_summary:] if max_summary else x[:0] for x in inputs]
    older_ids = [x[: max(len(x) - max_recent, 0)][-max_summary:] if max_summary else x[:0] for x in input_ids]
    b = len(seqs)
    t = max(1, max(len(r) for r in recent))
    s = max(1, max(len(o) for o in older))
    rec = np.zeros((b, t, n_levels), dtype=np.int64)
    rec_ids = np.full((b, t), -1, dtype=np.int64)
    rec_mask = np.zeros((b, t), dtype=bool)
    pos = np.zeros((b, t), dtype=np.int64)
    summ = np.zeros((b, s, n_levels), dtype=np.int64)
    summ_ids = np.full((b, s), -1, dtype=np.int64)
    summ_mask = np.zeros((b, s), dtype=bool)
    tgt = np.zeros((b, t, n_levels), dtype=np.int64)
    tgt_mask = np.zeros((b, t), dtype=bool)
    tgt_ids = np.full((b, t), -1, dtype=np.int64)
    for i, (r, o) in enumerate(zip(recent, older, strict=True)):
        n = len(r)
        if n:
            rec[i, t - n :] = r
            rec_ids[i, t - n :] = recent_ids[i]
            rec_mask[i, t - n :] = True
            pos[i, t - n :] = np.arange(n - 1, -1, -1)
        if len(o):
            summ[i, : len(o)] = o
            summ_ids[i, : len(o)] = older_ids[i]
            summ_mask[i, : len(o)] = True
        if with_targets and n:
            tgt[i, t - n :] = seqs[i][-n:]
            tgt_mask[i, t - n :] = True
            tgt_ids[i, t - n :] = rows[i][-n:]
    feats = [list(p) for p in profiles] if profiles is not None else [[] for _ in range(b)]
    prof = np.zeros((b, max(1, max(len(f) for f in feats))), dtype=np.int64)
    for i, f in enumerate(feats):
        prof[i, : len(f)] = f
    return Batch(
        recent=torch.from_numpy(rec),
        recent_ids=torch.from_numpy(rec_ids),
        recent_mask=torch.from_numpy(rec_mask),
        positions=torch.from_numpy(pos),
        summary=torch.from_numpy(summ),
        summary_ids=torch.from_numpy(summ_ids),
        summary_mask=torch.from_numpy(summ_mask),
        profile=torch.from_numpy(prof),
        targets=torch.from_numpy(tgt) if with_targets else None,
        target_mask=torch.from_numpy(tgt_mask) if with_targets else None,
        target_ids=torch.from_numpy(tgt_ids) if with_targets else None,
    )


def length_bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Shuffled batches of indices whose lengths are close: padding to the longest sequence of a random
    batch wastes most of the compute on the long-tailed Amazon sets. Pools of 50 batches are sorted by
    length, cut, and all batches shuffled."""
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    for j in rng.permutation(len(batches)):
        yield batches[j]
