"""Trie of the valid content paths (content levels + dedup level), as dense transition tables so that
beam search can mask and step a whole (users × beams) grid at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rag_recsys.grm.data import ItemCodes


@dataclass(frozen=True)
class CodeTrie:
    """``children[d][node, code]`` is the node reached from a depth-``d`` node by ``code`` (-1: no such
    path). Depth 0 has the single root node 0; the nodes of the last table are item rows.
    ``item_nodes[d - 1][row]`` is the depth-``d`` node on item ``row``'s path (depths 1 … depth-1)."""

    children: list[torch.Tensor]
    item_nodes: list[torch.Tensor]

    @property
    def depth(self) -> int:
        return len(self.children)

    @property
    def n_items(self) -> int:
        return int(self.children[-1].max()) + 1

    def to(self, device: torch.device | str) -> CodeTrie:
        return CodeTrie([c.to(device) for c in self.children], [n.to(device) for n in self.item_nodes])

    def contains(self, path: Sequence[int]) -> bool:
        node = 0
        for d, code in enumerate(path):
            table = self.children[d]
            if not 0 <= code < table.shape[1]:
                return False
            node = int(table[node, code])
            if node < 0:
                return False
        return len(path) == self.depth


def build_trie(paths: np.ndarray, sizes: Sequence[int]) -> CodeTrie:
    """Trie of unique full paths ``paths[i]`` (row ``i`` is item ``i``); ``sizes`` are the level sizes."""
    n, depth = paths.shape
    if depth != len(sizes):
        raise ValueError(f"paths have {depth} levels, sizes {list(sizes)}")
    if len(np.unique(paths, axis=0)) != n:
        raise ValueError("paths are not unique: add a dedup level first")
    children: list[torch.Tensor] = []
    item_nodes: list[torch.Tensor] = []
    # node ids at depth d: index of the row's length-d prefix among the unique length-d prefixes
    parent = np.zeros(n, dtype=np.int64)
    for d in range(depth):
        if d + 1 < depth:
            _, child = np.unique(paths[:, : d + 1], axis=0, return_inverse=True)
            child = child.reshape(-1)
        else:
            child = np.arange(n)  # leaves are numbered by item row
        table = np.full((int(parent.max()) + 1, sizes[d]), -1, dtype=np.int64)
        table[parent, paths[:, d]] = child
        children.append(torch.from_numpy(table))
        if d + 1 < depth:
            item_nodes.append(torch.from_numpy(child))
        parent = child
    return CodeTrie(children, item_nodes)


def content_trie(items: ItemCodes) -> CodeTrie:
    """Trie of the catalogue's content paths (content levels with the dedup level; creative levels are free)."""
    return build_trie(items.codes[:, : items.n_content], items.content_sizes)
