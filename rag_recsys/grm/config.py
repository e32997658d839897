"""Model and training settings (pydantic: they travel inside checkpoints and come from the CLI)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PresetName = Literal["tiny", "small", "base", "paper"]


class GRMConfig(BaseModel):
    """Shape of the decoder-only GRM.

    ``content_sizes`` are the vocabulary sizes of the content levels *including* the dedup level (the
    last content level); ``creative_sizes`` is empty for data sets without a creative channel.
    """

    model_config = ConfigDict(extra="forbid")

    content_sizes: list[int] = Field(min_length=1)
    creative_sizes: list[int] = []
    d_model: int = Field(128, ge=8)
    n_layers: int = Field(4, ge=1)
    n_heads: int = Field(4, ge=1)
    d_ff: int = Field(512, ge=8)
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    max_recent: int = Field(50, ge=1)  # items kept token by token; older ones are summarised
    max_summary: int = Field(200, ge=0)  # older items averaged into the summary token
    profile_buckets: int = Field(4096, ge=1)  # hashed "key=value" profile features
    # > 0: history items also get an embedding of their catalogue row (the paper's sparse embedding table
    # of interactions); codes alone describe items whose deeper residual codes mean little out of context
    n_items: int = Field(0, ge=0)
    # a dense head over the item table (needs n_items), trained beside the SID heads: decoding still
    # generates SIDs through the trie, guided by item_score_weight × the log of the head's probability
    # mass below each prefix (see decoding). The weight is chosen on validation after training.
    item_head: bool = False
    item_score_weight: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _heads_divide(self) -> GRMConfig:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of n_heads {self.n_heads}")
        if self.item_head and not self.n_items:
            raise ValueError("item_head needs the item table (n_items > 0)")
        return self

    @property
    def sizes(self) -> list[int]:
        return [*self.content_sizes, *self.creative_sizes]


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(100, ge=1)
    batch_size: int = Field(256, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.05, ge=0)
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    warmup_steps: int = Field(200, ge=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)  # cosine decay floor, as a fraction of lr
    eval_every: int = Field(5, ge=1)  # epochs between validation runs
    patience: int = Field(4, ge=1)  # validation runs without a better NDCG@10 before stopping
    val_beam: int = Field(20, ge=10)
    eval_batch_size: int = Field(256, ge=1)  # users per validation batch (larger on a GPU)
    seed: int = 0
    time_limit_s: float | None = None  # stop (keeping the best checkpoint) once training ran this long


# Shapes only; the vocabulary comes from the data. "paper" is the production GRM of the RaG paper
# (Appendix C); "small" trains on two CPU cores in a few minutes.
PRESETS: dict[str, dict[str, float | int]] = {
    "tiny": {"d_model": 32, "n_layers": 1, "n_heads": 2, "d_ff": 64, "dropout": 0.1, "max_recent": 20},
    "small": {"d_model": 64, "n_layers": 2, "n_heads": 2, "d_ff": 256, "dropout": 0.2, "max_recent": 20},
    "base": {"d_model": 128, "n_layers": 4, "n_heads": 4, "d_ff": 512, "dropout": 0.25, "max_recent": 50},
    "paper": {"d_model": 768, "n_layers": 7, "n_heads": 12, "d_ff": 3072, "dropout": 0.1, "max_recent": 50},
}


def model_config(
    preset: str, content_sizes: list[int], creative_sizes: list[int], n_items: int = 0, item_head: bool = False
) -> GRMConfig:
    return GRMConfig(content_sizes=content_sizes, creative_sizes=creative_sizes, n_items=n_items, item_head=item_head,
                     **PRESETS[preset])
