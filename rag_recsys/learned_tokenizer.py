"""A learned D-SID tokenizer folder (`rag_recsys.dsid_model`) behind the interface the SID file, the agents and the
recommender use (`rag_recsys.tokenizer.DSIDTokenizer` is the other implementation, the taxonomy tokenizer v2).

- content: text → the folder's frozen encoder (multilingual e5) → the path of the catalogue item whose text
  embedding is nearest (cosine). The items' paths are the RQ codes of their content-head embeddings (the build);
  a product text is matched by its first sentence, the product name (`product_name`: "Aurora Single-Origin
  Coffee Beans" finds Coffee; with its brand and selling points, Bean Paste); it is coded through its nearest
  item rather than through the head because the frozen embedding finds the
  intended branch far more often for text the build never saw: on the 52 product queries, 34 by the nearest
  item's e5 cosine, 17 by the nearest item in the head's space, 4 by the nearest RQ reconstruction (the shipped
  heads saw drafts of 300 of the 5,595 categories). A text's cosine to a path is its e5 cosine to the nearest
  item under it;
- creative: a path renders through the `CreativeStyle` of its medoid draft's settings
  (`rag_recsys.creative.style_of_settings`); creative *text* is matched as on the grid (`match_creative`: the
  look and rhythm phrases), over the looks and rhythms the paths' styles take;
- a video: its words are coded as text; its feature row (the words, embedded, and its measured creative vector)
  goes through the creative head for its creative path (`encode_creative_features`), so the words do not sway
  the look.

`shipped_tokenizer` loads the folder built from the Google Product Taxonomy and the project's own drafts
(``ragvid sid build --taxonomy --drafts 600 --settings 40``), shipped in ``artifacts/dsid``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from rag_recsys.creative import LOOKS, RHYTHMS, CreativeStyle, style_of_settings
from rag_recsys.dsid_model import DSIDModel
from rag_recsys.embedding import ENCODERS, TextEncoder, get_encoder
from rag_recsys.lexicon import ContentMeaning, Lexicon
from rag_recsys.reads import Reads
from rag_recsys.tokenizer import ARTIFACT_DIR, match_creative, product_name

SHIPPED_DIR = ARTIFACT_DIR / "dsid"


class LearnedTokenizer:
    """A `DSIDModel` folder read as a tokenizer: ``version``, ``lexicon``, ``encode_content(s)``,
    ``encode_creative``, ``decode_content``, ``decode_creative``, ``content_similarity``, ``reconstruct``."""

    def __init__(self, model: DSIDModel, encoder: TextEncoder | None = None) -> None:
        self.model = model
        self._encoder = encoder
        names = model.lexicon_extra.get("names") or list(model.item_codes)
        meanings = model.lexicon_extra.get("meanings")
        if not meanings or len(names) != len(model.item_codes) or len(model.item_vectors) != len(model.item_codes):
            raise ValueError(f"tokenizer {model.version}: its lexicon has no prefix meanings or its items disagree "
                             "(built before format 2? rebuild it with `ragvid sid build`)")  # fmt: skip
        creative = {
            key: style_of_settings([int(c) for c in key.split("-")], entry.settings)
            for key, entry in sorted(model.creative.items())
        }
        self.lexicon = Lexicon(
            version=model.version,
            content_sizes=list(model.config.content_sizes),
            creative_sizes=list(model.config.creative_sizes),
            content_entries={k: ContentMeaning(path=[int(c) for c in k.split("-")], **v) for k, v in meanings.items()},
            creative_entries=creative,
            look_phrases=[look.phrase for look in LOOKS],
            rhythm_phrases=[rhythm.phrase for rhythm in RHYTHMS],
            members=[str(n) for n in names],
        )
        self._item_paths = np.array(list(model.item_codes.values()), dtype=np.int64)

    @classmethod
    def load(cls, directory: Path, encoder: TextEncoder | None = None) -> LearnedTokenizer:
        """Raises ValueError naming the folder when it is not a readable tokenizer folder (`DSIDModel.load`)."""
        return cls(DSIDModel.load(directory), encoder)

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def encoder(self) -> TextEncoder:
        # lazy: decoding and checking SID files never embeds text
        if self._encoder is None:
            self._encoder = get_encoder(self.model.config.encoder)
        return self._encoder

    @property
    def reads(self) -> Reads:
        """What the folder's text encoder reads (asking loads no weights)."""
        return self._encoder.reads if self._encoder is not None else ENCODERS[self.model.config.encoder].reads

    @cached_property
    def default_creative(self) -> list[int]:
        """The least opinionated path, for a SID without style text: the least saturated of the paths whose
        tempo is nearest the grid's default rhythm (steady, 96 bpm)."""
        styles = list(self.lexicon.creative_entries.values())
        tempo = min(abs(s.music_bpm - 96) for s in styles)
        steady = [s for s in styles if abs(s.music_bpm - 96) <= tempo + 12]
        return list(min(steady, key=lambda s: ((s.settings or {}).get("saturation", 0.0), s.path)).path)

    # e5's cosines are compressed: the 52 product queries meet their nearest category at 0.84-0.89 (5th-95th
    # percentile), a random category at 0.76-0.81, so below 0.82 the text and the path describe different things
    disagreement_threshold = 0.82

    def _under(self, prefix: Sequence[int]) -> np.ndarray:
        """Item rows under a valid prefix (InputError naming ``content`` for one the lexicon lacks)."""
        self.lexicon.content(prefix)
        return np.flatnonzero((self._item_paths[:, : len(prefix)] == np.asarray(prefix)).all(axis=1))

    def encode_contents(self, texts: Sequence[str]) -> list[tuple[list[int], float]]:
        """Each text's content path (the nearest an item holds) and its cosine to the nearest item under it."""
        cosines = np.atleast_2d(self.encoder.encode([product_name(t) for t in texts])) @ self.model.item_vectors.T
        best = cosines.argmax(axis=1)
        return [(self._item_paths[j].tolist(), float(cosines[i, j])) for i, j in enumerate(best.tolist())]

    def encode_content(self, text: str) -> tuple[list[int], float]:
        return self.encode_contents([text])[0]

    def _nearest(self, vector: np.ndarray, prefix: Sequence[int]) -> tuple[int, float]:
        rows = self._under(prefix)
        cosines = self.model.item_vectors[rows] @ vector
        best = int(np.argmax(cosines))
        return int(rows[best]), float(cosines[best])

    def nearest_category(self, text: str, codes: Sequence[int]) -> tuple[str, float]:
        """Name of the item under ``codes`` nearest the text (a taxonomy path for the shipped folder), and its
        cosine."""
        row, cosine = self._nearest(self.encoder.encode_one(product_name(text)), codes)
        return self.lexicon.members[row], cosine

    def content_similarity(self, text: str, codes: Sequence[int]) -> float:
        """e5 cosine of the text to the nearest item under the path (prefix) ``codes``."""
        return self.nearest_category(text, codes)[1]

    def decode_content(self, codes: Sequence[int]) -> ContentMeaning:
        return self.lexicon.content(codes)

    def encode_creative(self, text: str) -> tuple[list[int], float]:
        """The creative path whose look and rhythm the style text names best (`match_creative`)."""
        return match_creative(self.encoder, text, list(self.lexicon.creative_entries.values()), self.default_creative)

    def decode_creative(self, codes: Sequence[int]) -> CreativeStyle:
        return self.lexicon.creative(codes)

    def encode_creative_features(self, features: np.ndarray) -> list[list[int]]:
        """(n, text_dim + creative_dim) feature rows of videos → their creative paths (the nearest a medoid holds)."""
        return self.model.encode(features)[1].tolist()

    def reconstruct(self, codes: Sequence[int]) -> np.ndarray:
        """RQ reconstruction of a content path (for models that consume SID embeddings)."""
        return self.model.content_codebooks.decode(np.asarray([list(codes)]))[0]

    def __repr__(self) -> str:
        return (f"LearnedTokenizer({self.version}, content {self.lexicon.content_sizes}, creative "
                f"{self.lexicon.creative_sizes}, {len(self.model.content_paths())} content paths over "
                f"{len(self._item_paths)} items, "
                f"{len(self.lexicon.creative_entries)} creative paths)")  # fmt: skip


@lru_cache(maxsize=1)
def shipped_tokenizer() -> LearnedTokenizer:
    """The shipped learned tokenizer (``artifacts/dsid``), loaded once per process."""
    return LearnedTokenizer.load(SHIPPED_DIR)


__all__ = ["SHIPPED_DIR", "LearnedTokenizer", "shipped_tokenizer"]
