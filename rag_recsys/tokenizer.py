"""The D-SID tokenizer: content codebooks + lexicon + MiniLM, loaded from the shipped artifacts.

Content text is encoded to the valid full path (one the lexicon lists) of its *nearest member
category*: every taxonomy category is shipped as a float16 vector (the normalised sum of the MiniLM
embeddings of its leaf name and of its leaf-first path text), a path scores the best of its
members, and a member whose leaf head noun the text names gets a bonus of ``HEAD_BONUS``
("running shoes" names Shoes, not Shoe Bags; "espresso coffee beans" names Coffee, not Espresso
Machines). v1 scored paths by cosine to the centroid of their members, which let a path of several
loosely related categories beat the one category the product is; ``metrics.json`` has both
methods measured on leaf-name queries and on the hand-written ``product_queries``.

``encode_content`` and ``content_similarity`` report the plain cosine (no bonus) of the text to the
nearest member category under the path, so the similarity in a run record reads "how close the
product is to the closest category this path stands for".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag_recsys.creative import DEFAULT_CREATIVE, LOOKS, RHYTHM_WEIGHT, RHYTHM_WORDS, RHYTHMS, CreativeStyle
from rag_recsys.embedding import TextEncoder, get_text_encoder
from rag_recsys.lexicon import ContentMeaning, Lexicon, path_key
from rag_recsys.npz import hashed_version, save_arrays
from rag_recsys.reads import Reads
from rag_recsys.rqkmeans import RQCodebooks

# v2: nearest-member content encoding (v1: path centroids); member vectors replace path means.
VERSION_PREFIX = "ragvid-gpt-v2"
ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
CODEBOOKS_FILE = "codebooks.npz"
LEXICON_FILE = "lexicon.json"
MEMBERS_FILE = "path_members.npz"
METRICS_FILE = "metrics.json"
# metrics.json only describes the others, so it does not take part in the version.
VERSIONED_FILES = (CODEBOOKS_FILE, LEXICON_FILE, MEMBERS_FILE)
# Added to a member's cosine when the text names the member's head noun; 0.15 measured best with 0.10
# and 0.20 on the product queries (see build.py), and it never moves a leaf-name query off its path.
HEAD_BONUS = 0.15


def artifact_version(directory: Path) -> str:
    return hashed_version(VERSION_PREFIX, directory, VERSIONED_FILES)


def save_members(path: Path, vectors: np.ndarray, path_rows: np.ndarray) -> None:
    """Member vectors (float16) and the lexicon full-path row of each; byte-identical for equal input."""
    save_arrays(path, {"vectors": vectors.astype(np.float16), "path": path_rows.astype(np.int32)})


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if re.search(r"(ch|sh|ss|x|z)es$", word):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> set[str]:
    """Lower-case, crudely singular words ("Shoes" → "shoe", "Batteries" → "battery")."""
    return {_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower())}


def product_name(text: str) -> str:
    """The first sentence or line of a product text: the product name in ``product_text_of`` and ``item_text``,
    the first line of words read from a video. An all-capitals name is title-cased: capitals are a style (a title
    in uppercase, read back by OCR), and the cased text encoder reads "STRIDE PRO LIGHTWEIGHT RUNNING SHOES" as
    Insoles & Inserts, the same words in title case as Shoes."""
    name = re.split(r"\.\s|\n", text.strip(), maxsplit=1)[0]
    return name.title() if name.isupper() else name


def named_words(text: str) -> set[str]:
    """Words that can name the product's head noun: those of its first sentence (`product_name`), without
    "X-free" claims ("fragrance-free" names no fragrance)."""
    return words(re.sub(r"[\w]+-free\b", " ", product_name(text), flags=re.IGNORECASE))


def head_nouns(leaf_name: str) -> set[str]:
    """Last word of each conjunct of a leaf name: "Coffee Makers & Espresso Machines" → maker, machine."""
    heads: set[str] = set()
    for part in re.split(r"&|,|/|\band\b", re.sub(r"\(.*?\)", " ", leaf_name)):
        found = re.findall(r"[a-z0-9]+", part.lower())
        if found:
            heads.add(_stem(found[-1]))
    return heads


_RHYTHM_STEMS = {_stem(w) for w in RHYTHM_WORDS}


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class DSIDTokenizer:
    def __init__(
        self,
        codebooks: RQCodebooks,
        lexicon: Lexicon,
        member_vectors: np.ndarray,
        member_paths: np.ndarray,
        encoder: TextEncoder | None = None,
    ) -> None:
        """``member_vectors[i]`` is taxonomy category ``lexicon.members[i]``, filed under full path
        ``lexicon.content_paths()[member_paths[i]]``; rows are sorted by that path."""
        self.codebooks = codebooks
        self.lexicon = lexicon
        self._paths = lexicon.content_paths()
        self._members = np.asarray(member_vectors, dtype=np.float32)
        self._member_paths = np.asarray(member_paths, dtype=np.int64)
        n = len(self._members)
        if not (len(self._member_paths) == len(lexicon.members) == n):
            raise ValueError(
                f"{n} member vectors, {len(self._member_paths)} member paths, {len(lexicon.members)} names"
            )
        counts = np.bincount(self._member_paths, minlength=len(self._paths))
        if len(counts) != len(self._paths) or (counts == 0).any() or (np.diff(self._member_paths) < 0).any():
            raise ValueError(f"member rows do not cover the {len(self._paths)} lexicon paths in order")
        self._counts = counts
        self._starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._rows_by_head: dict[str, list[int]] = {}
        for row, name in enumerate(lexicon.members):
            for head in head_nouns(name.rsplit(" > ", 1)[-1]):
                self._rows_by_head.setdefault(head, []).append(row)
        self._encoder = encoder

    @classmethod
    def load(cls, directory: Path, encoder: TextEncoder | None = None) -> DSIDTokenizer:
        version = artifact_version(directory)
        with np.load(directory / MEMBERS_FILE) as members:
            vectors, rows = members["vectors"], members["path"]
        return cls(
            RQCodebooks.load(directory / CODEBOOKS_FILE),
            Lexicon.load(directory / LEXICON_FILE, version),
            vectors,
            rows,
            encoder,
        )

    @staticmethod
    def load_default() -> DSIDTokenizer:
        return _default_tokenizer()

    @property
    def version(self) -> str:
        return self.lexicon.version

    # MiniLM cosine below which a product text and a path describe different things
    disagreement_threshold = 0.3

    @property
    def default_creative(self) -> list[int]:
        """The path of a SID without style text: clean-minimal × steady."""
        return list(DEFAULT_CREATIVE)

    @property
    def encoder(self) -> TextEncoder:
        # Lazy: decoding and validating SID files without meta never needs the model.
        if self._encoder is None:
            self._encoder = get_text_encoder()
        return self._encoder

    @property
    def reads(self) -> Reads:
        """What the text encoder reads (scripts, languages); check text with `rag_recsys.reads` before
        encoding it (asking loads no weights)."""
        return self.encoder.reads

    def _under(self, prefix: Sequence[int]) -> np.ndarray:
        """Member rows filed under a valid prefix (raises InputError for one the lexicon lacks)."""
        self.lexicon.content(prefix)
        depth = len(prefix)
        paths = [j for j, p in enumerate(self._paths) if p[:depth] == list(prefix)]
        return np.flatnonzero(np.isin(self._member_paths, paths))

    def content_vector(self, prefix: Sequence[int]) -> np.ndarray:
        """Unit centroid of every category under a valid prefix."""
        return _normalise(self._members[self._under(prefix)].mean(axis=0))

    def encode_contents(self, texts: Sequence[str]) -> list[tuple[list[int], float]]:
        """``encode_content`` for many texts at once (one MiniLM batch)."""
        vectors = self.encoder.encode(list(texts))
        out: list[tuple[list[int], float]] = []
        for text, vector in zip(texts, vectors, strict=True):
            cosines = self._members @ vector
            bonus = np.zeros(len(cosines), dtype=np.float32)
            for word in named_words(text):
                bonus[self._rows_by_head.get(word, [])] = 1.0
            best = int(np.argmax(np.maximum.reduceat(cosines + HEAD_BONUS * bonus, self._starts)))
            start = int(self._starts[best])
            out.append((list(self._paths[best]), float(cosines[start : start + int(self._counts[best])].max())))
        return out

    def encode_content(self, text: str) -> tuple[list[int], float]:
        """Full path of the member category nearest the text, and the cosine to that category."""
        return self.encode_contents([text])[0]

    def nearest_category(self, text: str, codes: Sequence[int]) -> tuple[str, float]:
        """Taxonomy path of the category under ``codes`` nearest the text, and its cosine."""
        rows = self._under(codes)
        cosines = self._members[rows] @ self.encoder.encode_one(text)
        best = int(np.argmax(cosines))
        return self.lexicon.members[int(rows[best])], float(cosines[best])

    def content_similarity(self, text: str, codes: Sequence[int]) -> float:
        """Cosine of the text to the nearest category under the path (prefix) ``codes``."""
        return self.nearest_category(text, codes)[1]

    def decode_content(self, codes: Sequence[int]) -> ContentMeaning:
        return self.lexicon.content(codes)

    def encode_creative(self, text: str) -> tuple[list[int], float]:
        """Nearest creative path (`match_creative`)."""
        return match_creative(self.encoder, text, list(self.lexicon.creative_entries.values()), DEFAULT_CREATIVE)

    def decode_creative(self, codes: Sequence[int]) -> CreativeStyle:
        return self.lexicon.creative(codes)

    def reconstruct(self, codes: Sequence[int]) -> np.ndarray:
        """RQ reconstruction of a content path (for models that consume SID embeddings)."""
        return self.codebooks.decode(np.asarray([list(codes)]))[0]

    def __repr__(self) -> str:
        return f"DSIDTokenizer({self.version}, content {self.lexicon.content_sizes}, " \
            f"creative {self.lexicon.creative_sizes}, {len(self._paths)} content paths, " \
            f"{len(self._members)} member categories)"


def _phrase_vectors(encoder: TextEncoder) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's embeddings of the look phrases and of the rhythm phrases, computed once per encoder."""
    if encoder not in _PHRASES:
        _PHRASES[encoder] = (encoder.encode([look.phrase for look in LOOKS]),
                             encoder.encode([rhythm.phrase for rhythm in RHYTHMS]))  # fmt: skip
    return _PHRASES[encoder]


_PHRASES: dict[TextEncoder, tuple[np.ndarray, np.ndarray]] = {}


def match_creative(
    encoder: TextEncoder, text: str, styles: Sequence[CreativeStyle], default: Sequence[int]
) -> tuple[list[int], float]:
    """The style among `styles` whose look and rhythm the text names best, and its score: the cosine of the text to
    the normalised sum of the look's phrase embedding and `RHYTHM_WEIGHT` × the rhythm's. Text that names no pace
    (`RHYTHM_WORDS`) chooses a look only: each look competes with its style whose rhythm is nearest the `default`
    path's (on the grid: exactly the default rhythm). Raises ValueError for an empty `styles`."""
    if not styles:
        raise ValueError("no creative styles to match")
    looks, rhythms = _phrase_vectors(encoder)
    look_of = {look.name: i for i, look in enumerate(LOOKS)}
    rhythm_of = {rhythm.name: i for i, rhythm in enumerate(RHYTHMS)}
    candidates = list(styles)
    if not words(text) & _RHYTHM_STEMS:
        target = next((rhythm_of[s.rhythm] for s in styles if s.path == list(default)), rhythm_of[RHYTHMS[1].name])
        per_look: dict[str, CreativeStyle] = {}
        for s in sorted(styles, key=lambda s: (abs(rhythm_of[s.rhythm] - target), s.path)):
            per_look.setdefault(s.look, s)
        candidates = list(per_look.values())
    vector = encoder.encode_one(text)
    scores = [float(_normalise(looks[look_of[s.look]] + RHYTHM_WEIGHT * rhythms[rhythm_of[s.rhythm]]) @ vector)
              for s in candidates]  # fmt: skip
    best = int(np.argmax(scores))
    return list(candidates[best].path), scores[best]


@lru_cache(maxsize=1)
def _default_tokenizer() -> DSIDTokenizer:
    return DSIDTokenizer.load(ARTIFACT_DIR)


__all__ = [
    "ARTIFACT_DIR", "DSIDTokenizer", "artifact_version", "head_nouns", "match_creative", "path_key", "words",
]  # fmt: skip
