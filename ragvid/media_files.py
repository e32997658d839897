"""Which paths the CLI reads as a video or an image rather than as text: the suffixes, in one place.

Light on purpose (no decoder, no model): `ragvid sid encode`'s help text is built from these at import, and
`sid decode` checks them before loading the tokenizer; `ragvid.video_sid` reads the files.
"""

from __future__ import annotations

from pathlib import Path

from tools.errors import InputError

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
OTHER_MEDIA = frozenset({".avi", ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".3gp", ".gif", ".bmp", ".tif", ".tiff",
                         ".heic", ".avif"})  # fmt: skip
"""Media suffixes ragvid does not read: named in the error, so a file is never encoded as product text."""


def suffixes(kind: frozenset[str] = VIDEO_SUFFIXES | IMAGE_SUFFIXES) -> str:
    """``.jpeg, .jpg, …`` (sorted) for messages and help."""
    return ", ".join(sorted(kind))


def is_media(text: str, field_name: str = "TEXT") -> bool:
    """Whether the TEXT of `ragvid sid encode` names a video or image file to read (rather than product text):
    a word without spaces that ends in a media suffix, or an existing file or folder. Raises InputError naming
    `field_name` for a media suffix ragvid does not read and for an existing path that is not one."""
    if not text or any(ch.isspace() for ch in text):
        return False
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES | IMAGE_SUFFIXES:
        return True
    if suffix in OTHER_MEDIA or path.exists():
        raise InputError(field_name, f"{text}: not a video or image ragvid reads ({suffixes()}); convert it, "
                                     "e.g. ffmpeg -i IN -c:v libx264 OUT.mp4")  # fmt: skip
    return False


def is_image(path: Path) -> bool:
    """Whether `path` has an image suffix (a still: a look, no rhythm)."""
    return path.suffix.lower() in IMAGE_SUFFIXES
