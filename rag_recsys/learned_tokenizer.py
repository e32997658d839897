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
- a video: its words are coded as text; its creative path is read from its measured creative vector against the
  agents' own renders of every path (`encode_creative_video`, the folder's style renders); a folder without them
  reads it through the creative head, which learnt from drafts and misreads agents' renders.

`shipped_tokenizer` loads the folder built from the Google Product Taxonomy and the project's own drafts
(``ragvid sid build --taxonomy --drafts 600 --settings 40``), shipped in ``artifacts/dsid``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import LeaveOneGroupOut
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from rag_recsys.creative import LOOKS, RHYTHMS, CreativeStyle, style_of_settings
from rag_recsys.dsid_model import DSIDModel, StyleRenders
from rag_recsys.embedding import ENCODERS, TextEncoder, get_encoder
from rag_recsys.lexicon import ContentMeaning, Lexicon, key_path, path_key
from rag_recsys.reads import Reads
from rag_recsys.tokenizer import ARTIFACT_DIR, match_creative, product_name

SHIPPED_DIR = ARTIFACT_DIR / "dsid"


STYLE_SHRINKAGE = 0.2  # fixed, not Ledoit-Wolf: see style_classifier


def style_classifier(vectors: np.ndarray, paths: np.ndarray) -> Pipeline:
    """A creative-path classifier fit on (n, creative_dim) measured creative vectors of renders and their (n, depth)
    creative paths: standardised features, then a linear discriminant whose shared covariance is shrunk by a fixed
    `STYLE_SHRINKAGE` toward its diagonal. On the shipped folder's 144 agents' renders (36 paths × 4 style
    products) its leave-one-product-out accuracy is 0.91 (first layer 0.94), 0.87 with 3 products; shrinkage 0.1
    and 0.4 score within 0.02 of it. Ledoit-Wolf shrinkage (``"auto"``) scores 0.99 with 4 products but 0.01 with
    3: with two renders per path its estimate degenerates so that it does not give a render its own path back. On
    an earlier 37-path build nearest centroid, logistic regression, a linear SVM and 1-NN scored 0.74-0.86, below
    this classifier's 0.84 there."""
    classifier = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage=STYLE_SHRINKAGE))
    return classifier.fit(vectors, [path_key(p) for p in np.asarray(paths).tolist()])


def style_render_accuracy(renders: StyleRenders) -> dict[str, float]:
    """Leave-one-product-out accuracy of `style_classifier` on style renders (scikit-learn's ``LeaveOneGroupOut``):
    each product's renders classified by a classifier fit on the other products' — the share whose full creative
    path (``style_render_accuracy``) and first layer (``style_render_first_layer_accuracy``) it finds. Raises
    ValueError with fewer than three products (a fold must keep two renders of each path)."""
    if renders.product_count < 3:
        raise ValueError("leave-one-product-out accuracy needs style renders of three products or more")
    keys = np.asarray([path_key(p) for p in renders.paths.tolist()])
    found = np.empty_like(keys)
    for fit, held in LeaveOneGroupOut().split(renders.vectors, keys, renders.products):
        found[held] = style_classifier(renders.vectors[fit], renders.paths[fit]).predict(renders.vectors[held])
    first = [key_path(a)[0] == key_path(b)[0] for a, b in zip(found.tolist(), keys.tolist(), strict=True)]
    return {"style_render_accuracy": round(float(np.mean(found == keys)), 4),
            "style_render_first_layer_accuracy": round(float(np.mean(first)), 4)}  # fmt: skip


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
            key: style_of_settings(key_path(key), entry.settings)
            for key, entry in sorted(model.creative.items())
        }
        self.lexicon = Lexicon(
            version=model.version,
            content_sizes=list(model.config.content_sizes),
            creative_sizes=list(model.config.creative_sizes),
            content_entries={k: ContentMeaning(path=key_path(k), **v) for k, v in meanings.items()},
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
        """Each text's content path and its cosine to the nearest item under it: the path of the item whose text
        embedding is nearest the text's product name (`product_name`), so every path is one an item holds — not
        the RQ codes of the text (`DSIDModel.encode_texts`), which may name a path no item holds."""
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

    @cached_property
    def _style_classifier(self) -> Pipeline | None:
        renders = self.model.style_renders
        return None if renders is None else style_classifier(renders.vectors, renders.paths)

    def encode_creative_video(self, text: np.ndarray, creative: np.ndarray) -> list[list[int]]:
        """Creative paths of videos from their (n, text_dim) embedded words and (n, creative_dim) measured creative
        vectors: with the folder's style renders, the path a linear discriminant (scikit-learn's LDA, shrunk
        covariance) fit on the agents' renders of every path assigns to the creative vector alone; without them,
        the path the creative head gives the feature row (the nearest path a medoid holds)."""
        if self._style_classifier is None:
            return self.model.encode(np.concatenate([text, creative], axis=1))[1].tolist()
        return [key_path(str(key)) for key in self._style_classifier.predict(creative)]

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


__all__ = ["SHIPPED_DIR", "LearnedTokenizer", "shipped_tokenizer", "style_classifier", "style_render_accuracy"]
