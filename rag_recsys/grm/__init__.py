"""Generative recommendation model (GRM): a decoder-only Transformer that generates the next item's
semantic ID, constrained to catalogue paths, with its training, evaluation and baselines.

Modules, in data-flow order:

- ``config``: model shapes (presets tiny/small/base/paper) and training settings.
- ``data``: item code tables (with the dedup level), interaction files, leave-one-out splits, batches.
- ``datasets``: where the Amazon data lives (``$RAGVID_DATA`` or ``../shared/data``) and how a data set
  folder becomes items with codes (an index file, or item texts encoded by the shipped D-SID tokenizer).
- ``interface``: ``SequentialRecommender``, what every trainable model implements (batches, loss, ranking,
  capabilities) so that the code below never branches on the model's class.
- ``model``: the GRM. ``sasrec``: the item-ID SASRec baseline. ``popularity``: the most-popular baseline.
- ``trie`` and ``decoding``: the content-path trie and batched constrained beam search.
- ``evaluator``: Recall@k / NDCG@k and the leave-one-out evaluation of any ranker.
- ``trainer``: the training loop with early stopping and resumable checkpoints.
- ``pipeline``: the kind → model registry; train / save / load / evaluate a model folder (what ``ragvid rec``
  and the bench share).
- ``serving``: ``Recommender`` implementations (see ``rag_recsys.recommender``) over a model folder.
"""
