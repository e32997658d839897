"""A learned D-SID tokenizer folder: heads, per-channel codebooks, lexicon, metrics and model card.

`rag_recsys.dsid_build` writes it (``ragvid sid build``); `DSIDModel.load` reads it. Layout (every array file an
uncompressed ``.npz`` with fixed timestamps, so equal builds are byte-identical):

- ``dsid.json`` — format, encoder name, feature dimensions, codebook sizes, heads settings, version;
- ``heads.npz`` — the heads' weights (``content.*``, ``creative.*``) and the feature standardisation;
- ``content_codebooks.npz``, ``creative_codebooks.npz`` — `rag_recsys.rqkmeans.RQCodebooks`;
- ``items.npz`` — each item's frozen text embedding (float16, ``item_rows`` order): a text is coded by its
  nearest item (`rag_recsys.learned_tokenizer`);
- ``lexicon.json`` — each item's content path (``items``; ``item_rows`` keeps the row order of the arrays and of
  ``names``), each item's name, what each content prefix means (its items' categories,
  topics and titles), each creative path's medoid settings;
- ``metrics.json`` and ``MODEL_CARD.md`` — what the build measured and the data it saw (outside the version);
- ``style_renders.npz`` (optional) — the measured creative vectors of the agents' own renders of every creative
  path (``ragvid.style_renders``), against which a video's creative path is read. Outside the version: they
  change how a video is read, not what any code means.

A view of an item or a render is one feature row: the frozen text encoder's embedding of its words
(``text_dim``), then its measured creative vector (``creative_dim``, `tools.video.measures.creative_vector`).
An item known only by its text takes the training mean as its creative half (zero after standardisation):
text alone says nothing about how a video is made.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, Field

from rag_recsys.dsid_heads import DisentangledHeads, HeadsConfig, TrainedHeads
from rag_recsys.lexicon import key_path, path_key
from rag_recsys.npz import hashed_version, save_arrays
from rag_recsys.rqkmeans import RQCodebooks

# 2: items.npz and the meaning of every content prefix
FORMAT = 2
VERSION_PREFIX = "ragvid-dsid-v1"
CONFIG_FILE = "dsid.json"
HEADS_FILE = "heads.npz"
CONTENT_CODEBOOKS = "content_codebooks.npz"
CREATIVE_CODEBOOKS = "creative_codebooks.npz"
ITEMS_FILE = "items.npz"
LEXICON_FILE = "lexicon.json"
METRICS_FILE = "metrics.json"
STYLE_RENDERS_FILE = "style_renders.npz"
MODEL_CARD = "MODEL_CARD.md"
VERSIONED_FILES = (HEADS_FILE, CONTENT_CODEBOOKS, CREATIVE_CODEBOOKS, ITEMS_FILE, LEXICON_FILE)


class DSIDConfig(BaseModel):
    """``dsid.json``: what a folder needs to be read back."""

    format: int = FORMAT
    version: str = ""
    encoder: str = Field(description="text encoder name (rag_recsys.embedding.ENCODERS)")
    text_dim: int
    creative_dim: int
    creative_features: list[str] = Field(default_factory=list, description="names of the creative vector's values")
    measures_version: str = ""
    content_sizes: list[int]
    creative_sizes: list[int]
    heads: HeadsConfig


class CreativeEntry(BaseModel):
    """A full creative path: the settings of its medoid render (the render nearest the path's centre)."""

    settings: dict[str, Any]
    setting_index: int
    renders: int


def folder_version(directory: Path) -> str:
    return hashed_version(VERSION_PREFIX, directory, VERSIONED_FILES)


def item_features(heads: TrainedHeads, text_embeddings: np.ndarray) -> np.ndarray:
    """(n, text_dim) text embeddings of items without a video → (n, text_dim + creative_dim) feature rows for
    `heads`: the creative half is the heads' training mean (zero after their standardisation)."""
    text = np.atleast_2d(np.asarray(text_embeddings, dtype=np.float32))
    creative = heads.mean[text.shape[1] :]
    return np.concatenate([text, np.broadcast_to(creative, (len(text), len(creative)))], axis=1)


@dataclass(frozen=True)
class StyleRenders:
    """Agents' renders of creative paths, as measured: ``vectors`` (n, creative_dim) float32 creative vectors
    (`tools.video.measures.creative_vector`), ``paths`` (n, creative depth) int64, the path each was rendered
    under, and ``products`` (n,) int64, the index of the product it showed (``ragvid.style_renders``)."""

    vectors: np.ndarray
    paths: np.ndarray
    products: np.ndarray

    @property
    def product_count(self) -> int:
        return len(np.unique(self.products))

    def save(self, path: Path) -> None:
        save_arrays(path, {"vectors": np.asarray(self.vectors, dtype=np.float32),
                           "paths": np.asarray(self.paths, dtype=np.int64),
                           "products": np.asarray(self.products, dtype=np.int64)})  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> StyleRenders:
        with np.load(path) as arrays:
            return cls(vectors=arrays["vectors"], paths=arrays["paths"], products=arrays["products"])


@dataclass
class DSIDModel:
    """A loaded (or freshly built) D-SID tokenizer."""

    config: DSIDConfig
    heads: TrainedHeads
    content_codebooks: RQCodebooks
    creative_codebooks: RQCodebooks
    item_codes: dict[str, list[int]]
    creative: dict[str, CreativeEntry]
    item_vectors: np.ndarray  # (n_items, text_dim) frozen text embeddings, in `item_codes` order
    lexicon_extra: dict[str, Any]  # what else lexicon.json holds: "names", "meanings" (see the module doc)
    style_renders: StyleRenders | None = None

    @property
    def version(self) -> str:
        return self.config.version

    def item_features(self, text_embeddings: np.ndarray) -> np.ndarray:
        """(n, text_dim) text embeddings of items without a video → (n, text_dim + creative_dim) feature rows (the
        creative half at the training mean). Raises ValueError for another width."""
        text = np.atleast_2d(np.asarray(text_embeddings, dtype=np.float32))
        if text.shape[1] != self.config.text_dim:
            raise ValueError(f"text embeddings of width {text.shape[1]}; this tokenizer's encoder "
                             f"({self.config.encoder}) gives {self.config.text_dim}")  # fmt: skip
        return item_features(self.heads, text)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, content depth) content paths of item texts (e.g. `rag_recsys.grm.datasets.item_text` of catalogue
        entries), embedded by the encoder the folder was built with (loaded on first use): the RQ codes of the
        heads' content embedding, as the build codes its catalogue (a path no item holds is possible). Product
        text at use goes through `LearnedTokenizer.encode_contents`, which takes the path of the nearest item."""
        from rag_recsys.embedding import get_encoder

        vectors = get_encoder(self.config.encoder).encode(list(texts))
        return self.encode(self.item_features(vectors))[0]

    def embed(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, text_dim + creative_dim) features → (n, dim) content and creative unit rows. Raises ValueError for
        another width."""
        width = self.config.text_dim + self.config.creative_dim
        if np.ndim(features) != 2 or np.shape(features)[1] != width:
            raise ValueError(f"features of shape {np.shape(features)}; this tokenizer reads (n, {width}): "
                             f"{self.config.text_dim} text + {self.config.creative_dim} creative values")  # fmt: skip
        zc, zk = self.heads.embed(features)
        if zk is None:
            raise ValueError("this folder's heads have no creative head")
        return zc, zk

    def content_paths(self) -> np.ndarray:
        """(m, depth) the distinct full content paths of the catalogue's items, sorted."""
        return np.unique(np.array(list(self.item_codes.values()), dtype=np.int64), axis=0)

    def creative_paths(self) -> np.ndarray:
        """(m, depth) the full creative paths the lexicon lists (each with its medoid settings), sorted."""
        return np.array(sorted(key_path(key) for key in self.creative), dtype=np.int64)

    def encode(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, feature) rows → ((n, content depth), (n, creative depth)) code paths, each the nearest valid path
        of its channel (`RQCodebooks.encode_valid`): an item's, and a creative path with medoid settings."""
        zc, zk = self.embed(features)
        return (
            self.content_codebooks.encode_valid(zc, self.content_paths()),
            self.creative_codebooks.encode_valid(zk, self.creative_paths()),
        )

    def settings_of(self, creative_path: Sequence[int]) -> CreativeEntry:
        """The medoid settings of a full creative path. Raises KeyError for a path no render took."""
        key = path_key(creative_path)
        if key not in self.creative:
            raise KeyError(f"creative path {list(creative_path)} is not in this tokenizer's lexicon "
                           f"(valid: {', '.join(sorted(self.creative))})")  # fmt: skip
        return self.creative[key]

    def save(self, directory: Path) -> str:
        """Write the versioned files and ``dsid.json`` into `directory`; returns the version."""
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().numpy() for k, v in self.heads.heads.state_dict().items()}
        save_arrays(directory / HEADS_FILE, {**state, "_mean": self.heads.mean, "_scale": self.heads.scale})
        self.content_codebooks.save(directory / CONTENT_CODEBOOKS)
        self.creative_codebooks.save(directory / CREATIVE_CODEBOOKS)
        save_arrays(directory / ITEMS_FILE, {"vectors": np.asarray(self.item_vectors, dtype=np.float16)})
        lexicon = {
            "items": self.item_codes,
            # the keys above are written sorted; this keeps the row order of items.npz and of the lexicon's lists
            "item_rows": list(self.item_codes),
            "creative": {k: v.model_dump() for k, v in sorted(self.creative.items())},
            **self.lexicon_extra,
        }
        (directory / LEXICON_FILE).write_text(
            json.dumps(lexicon, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8"
        )
        self.config.version = folder_version(directory)
        (directory / CONFIG_FILE).write_text(self.config.model_dump_json(indent=2) + "\n", encoding="utf-8")
        if self.style_renders is not None:
            self.style_renders.save(directory / STYLE_RENDERS_FILE)
        return self.config.version

    @classmethod
    def load(cls, directory: Path) -> DSIDModel:
        """Read a folder `save` wrote. Raises ValueError naming the file when one is missing, of another format,
        or does not match its version (a file was changed after the build)."""
        path = directory / CONFIG_FILE
        if not directory.is_dir():
            raise ValueError(f"{directory}: no such folder")
        if not path.is_file():
            raise ValueError(f"{directory}: not a D-SID tokenizer folder (no {CONFIG_FILE}); build one with "
                             "`ragvid sid build CATALOG -o DIR`")  # fmt: skip
        try:
            config = DSIDConfig.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path}: not a D-SID tokenizer config: {' '.join(str(exc).split())[:300]}") from None
        if config.format != FORMAT:
            raise ValueError(f"{path}: tokenizer format {config.format}, this ragvid reads format {FORMAT}: "
                             "rebuild it with `ragvid sid build CATALOG -o DIR`")  # fmt: skip
        missing = [name for name in VERSIONED_FILES if not (directory / name).is_file()]
        if missing:
            raise ValueError(f"{directory}: missing {', '.join(missing)}")
        if folder_version(directory) != config.version:
            raise ValueError(f"{directory}: files do not match version {config.version} in {CONFIG_FILE} "
                             "(changed after the build?)")  # fmt: skip
        with np.load(directory / HEADS_FILE) as arrays:
            state = {k: torch.as_tensor(arrays[k]) for k in arrays.files if not k.startswith("_")}
            mean, scale = arrays["_mean"], arrays["_scale"]
        in_dim = config.text_dim + config.creative_dim
        heads = DisentangledHeads(in_dim, config.heads.dim, config.heads.hidden, creative=True)
        heads.load_state_dict(state)
        lexicon = json.loads((directory / LEXICON_FILE).read_text(encoding="utf-8"))
        with np.load(directory / ITEMS_FILE) as arrays:
            item_vectors = arrays["vectors"].astype(np.float32)
        return cls(
            config=config,
            heads=TrainedHeads(heads, mean, scale),
            content_codebooks=RQCodebooks.load(directory / CONTENT_CODEBOOKS),
            creative_codebooks=RQCodebooks.load(directory / CREATIVE_CODEBOOKS),
            item_codes={str(k): list(lexicon["items"][k]) for k in lexicon.get("item_rows") or lexicon["items"]},
            creative={k: CreativeEntry.model_validate(v) for k, v in lexicon["creative"].items()},
            item_vectors=item_vectors,
            lexicon_extra={k: v for k, v in lexicon.items() if k not in ("items", "item_rows", "creative")},
            style_renders=StyleRenders.load(directory / STYLE_RENDERS_FILE)
            if (directory / STYLE_RENDERS_FILE).is_file()
            else None,
        )


__all__ = ["CreativeEntry", "DSIDConfig", "DSIDModel", "StyleRenders", "folder_version", "item_features"]
