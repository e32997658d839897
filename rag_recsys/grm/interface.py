"""The interface every sequential recommender here implements (the GRM and the SASRec baseline), so that
the trainer, the pipeline, serving and the bench never branch on a model's class.

After RecBole's ``AbstractRecommender`` and ``SequentialRecommender`` (recbole/model/abstract_recommender.py,
implemented by sequential_recommender/sasrec.py): the model owns its loss, how it reads a history and how it
ranks the catalogue; what only some models have (the GRM's dense item head) is a capability the model
declares and the caller reads, as pydantic-ai's model profiles do.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import torch
from pydantic import BaseModel
from torch import nn

from rag_recsys.grm.data import Batch, ItemCodes, make_batch
from rag_recsys.grm.evaluator import Ranker


class SequentialRecommender(nn.Module, ABC):
    """A next-item model over histories of item rows: built by ``build``, trained on ``batch`` by ``loss``,
    ranking the catalogue through ``ranker``; a checkpoint keeps ``kind`` and ``cfg`` beside the weights and
    ``from_config`` rebuilds the model from them."""

    kind: ClassVar[str]  # a checkpoint's meta["kind"] and ``ragvid rec train --model``: "grm", "sasrec"
    config_class: ClassVar[type[BaseModel]]  # what ``cfg`` is; checkpoints store it as a plain dict
    cfg: BaseModel

    def __init__(self, cfg: BaseModel) -> None:
        super().__init__()
        self.cfg = cfg

    @classmethod
    @abstractmethod
    def build(cls, preset: str, items: ItemCodes, item_ids: bool = False, item_head: bool = False) -> Self:
        """A fresh model for the catalogue ``items`` in the shape of ``preset`` (see ``config.PRESETS``);
        ``item_ids`` and ``item_head`` are the GRM's options, ignored by a model without them."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """The model a checkpoint's ``meta["config"]`` describes, weights not loaded; pydantic's
        ValidationError when the dict does not fit ``config_class``."""
        return cls(cls.config_class.model_validate(config))

    @classmethod
    def require(cls, model: SequentialRecommender) -> Self:
        """``model`` itself, typed as this class, for code that only this model can serve (the GRM's
        generation of creative codes); ValueError naming the model's kind when it is another model."""
        if not isinstance(model, cls):
            raise ValueError(f"a {model.kind} model is not a {cls.__name__}")
        return model

    @abstractmethod
    def input_codes(self, items: ItemCodes) -> np.ndarray:
        """(n_items, L) int64: the codes the model reads for each item row of ``items``."""

    @property
    @abstractmethod
    def max_recent(self) -> int:
        """History items the model reads one by one (the most recent ones)."""

    @property
    def max_summary(self) -> int:
        """Older items it reads averaged into one summary token; 0: none (older items are dropped)."""
        return 0

    def batch(
        self, items: ItemCodes, histories: Sequence[np.ndarray], profiles: Sequence[Sequence[int]] | None = None,
        with_targets: bool = False,
    ) -> Batch:
        """``histories`` (item rows of ``items``, oldest first) as this model reads them; with ``with_targets``
        each history is a training sequence (see ``data.make_batch``)."""
        return make_batch(histories, self.input_codes(items), self.max_recent, self.max_summary, profiles,
                          with_targets)

    @abstractmethod
    def loss(self, batch: Batch, label_smoothing: float = 0.0) -> torch.Tensor:
        """Scalar training loss of a ``with_targets`` batch: the next item's cross-entropy at every history
        position that has one (RecBole's ``calculate_loss``)."""

    @abstractmethod
    def user_state(self, batch: Batch) -> torch.Tensor:
        """(B, D) the state after each user's last history item: what the model predicts the next item from
        (RecBole's ``forward`` at the last position)."""

    @abstractmethod
    def full_sort_scores(self, batch: Batch, items: ItemCodes) -> torch.Tensor:
        """(B, n_items) log-score of every catalogue item of ``items`` as each user's next item, history items
        included (RecBole's ``full_sort_predict``): the exact ranking a search approximates."""

    @abstractmethod
    def ranker(
        self, items: ItemCodes, beam: int, k: int, device: torch.device | str = "cpu", exclude_seen: bool = True,
        item_weight: float | None = None,
    ) -> Ranker:
        """(Histories as item rows, hashed profile features) → (B, k) item rows of ``items``, best first, -1
        where fewer than k could be ranked; never a history item unless ``exclude_seen`` is off. ``beam``:
        the search width of a model that decodes (at least k is used); ``item_weight``: the dense item head's
        weight for this ranker (None: the model's own), ignored by a model without one."""

    @property
    def item_weight(self) -> float | None:
        """Capability: the weight of a dense item head in the ranking, chosen on validation after training;
        None for a model without one (there is nothing to choose)."""
        return None
