"""Artifacts that are byte-identical for equal content, and the version hashed from their bytes.

``np.savez`` stamps each member with the current time, so a rebuild of an unchanged artifact would change
its bytes and the version hashed from them (tokenizer, creative classifier, D-SID folder). One writer here
stores members uncompressed with a fixed timestamp; ``np.load`` reads the files as usual.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def save_arrays(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` (member name → array, in the mapping's order) to `path` as an uncompressed ``.npz``."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, value in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(value))
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH), buf.getvalue())


def hashed_version(prefix: str, directory: Path, names: Iterable[str]) -> str:
    """``<prefix>+<8 hex>``: the first 8 hex digits of SHA-256 over each named file's name and bytes, in order."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        digest.update((directory / name).read_bytes())
    return f"{prefix}+{digest.hexdigest()[:8]}"


__all__ = ["hashed_version", "save_arrays"]
