"""Turn off the *enabled* flag of an MP4's subtitle tracks, in place, so players leave them off by default.

ffmpeg's MP4 muxer enables the first track of each kind whatever ``-disposition`` asks
(``libavformat/movenc.c``, ``enable_tracks``: "if no track of a type is default, the first one is"), and
MP4 has no separate "default" flag: a reader (ffmpeg's demuxer, QuickTime, most players) takes an
enabled text track as one to show. A render whose captions are burned in would then show them twice.
No kept library edits track headers (mutagen and PyAV write metadata atoms only), so this module walks
the boxes itself: it flips one bit of each subtitle track's ``tkhd`` flags (ISO/IEC 14496-12 §8.3.2,
``track_enabled = 0x000001``) without moving a byte, so sample offsets stay valid.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tools.errors import InputError

TRACK_ENABLED = 0x000001
SUBTITLE_HANDLERS = frozenset({b"sbtl", b"text", b"subt"})
"""``hdlr`` handler types of timed-text tracks: mov_text in MP4 (``sbtl``), QuickTime text, MPEG-4 subt."""


def _boxes(f: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload offset, box end) of each box in ``[start, end)`` of the file."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        size, kind = struct.unpack(">I4s", f.read(8))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", f.read(8))
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ValueError(f"box {kind!r} at byte {pos} has an impossible size {size}")
        yield kind, pos + header, pos + size
        pos += size


def _child(f: BinaryIO, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    return next(((p, e) for k, p, e in _boxes(f, start, end) if k == kind), None)


def disable_subtitle_tracks(path: Path) -> int:
    """Clear ``track_enabled`` in the ``tkhd`` of every subtitle track of the MP4 at ``path`` (in place).

    Returns how many tracks were changed (0 when there are none or all are already off). Raises
    InputError naming the file when it is not an MP4 with a ``moov`` box or a box is malformed.
    """
    path = Path(path)
    try:
        with path.open("r+b") as f:
            size = f.seek(0, 2)
            moov = _child(f, 0, size, b"moov")
            if moov is None:
                raise InputError("moov", "no moov box: not an MP4 file", file=path)
            changed = 0
            for kind, start, end in list(_boxes(f, *moov)):
                if kind != b"trak":
                    continue
                tkhd, mdia = _child(f, start, end, b"tkhd"), _child(f, start, end, b"mdia")
                hdlr = _child(f, *mdia, b"hdlr") if mdia else None
                if tkhd is None or hdlr is None:
                    continue
                f.seek(hdlr[0] + 8)  # version+flags, pre_defined
                if f.read(4) not in SUBTITLE_HANDLERS:
                    continue
                f.seek(tkhd[0])
                (version_flags,) = struct.unpack(">I", f.read(4))
                if version_flags & TRACK_ENABLED:
                    f.seek(tkhd[0])
                    f.write(struct.pack(">I", version_flags & ~TRACK_ENABLED))
                    changed += 1
            return changed
    except (ValueError, struct.error) as exc:
        raise InputError("boxes", f"malformed MP4: {exc}", file=path) from exc
