"""A video or an image → SID file: the D-SIDs read back from pixels and sound (`ragvid sid encode out.mp4`).

The reward learning needs this check — does a generated video match the SIDs it was made from — and a
person needs it to file an existing ad. Both views of the paper's video encoder (section 2.2) are read:

- *content*: the words the video carries (`tools.video.words.video_text`: its soft subtitle track when it
  has one, else tesseract OCR of its frames), embedded by the shipped tokenizer's text encoder;
- *creative*: the video's measured creative vector (`tools.video.measures`: palette, brightness, motion, shot
  rhythm, tempo, loudness).

The words are coded as product text is (their nearest catalogue item); the creative vector is read against the
agents' own renders of every creative path (`rag_recsys.learned_tokenizer.LearnedTokenizer.encode_creative_video`,
`ragvid.style_renders`), so the words do not sway the look. A still image has a look but no motion or cuts: its
creative path is the one whose renders it is least unlike.

The first line read becomes ``meta.product`` and the next ones selling points (each within the SID format's
limits), so the written file renders; the words read and how they were read are reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from rag_recsys.learned_tokenizer import shipped_tokenizer
from rag_recsys.sidfile import (
    LoadedSid,
    ProductMeta,
    SidFile,
    check_encodable,
    load_sid_file,
    product_text_of,
    write_sid_file,
)
from ragvid.media_files import VIDEO_SUFFIXES, is_image
from ragvid.progress import logged_warnings
from tools.errors import InputError, ToolError, one_line
from tools.video.measures import creative_vector, measure_video
from tools.video.words import VideoText, track_language, video_text

_MAX_POINTS = 8
# every field the words fill: messages name the file argument, never a flag the user did not pass
_FIELDS = ("product", "meta.product", "meta.brand", "meta.selling_points", "style", "meta.language")


@dataclass(frozen=True)
class EncodedVideo:
    """A SID file written from a video or image, with what was read to make it."""

    path: Path
    loaded: LoadedSid
    words: VideoText
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """``content [82, 10, 7] (Coffee, …), creative [0, 1] (warm-cozy × steady); words from ocr, 9 lines``."""
        sid, loaded = self.loaded.sid, self.loaded
        lines = len([ln for ln in self.words.text.splitlines() if ln.strip()])
        return (f"content {sid.content} ({', '.join(loaded.content.entities[:3])}), creative {sid.creative} "
                f"({loaded.creative.look} × {loaded.creative.rhythm}); words from {self.words.source}, "
                f"{lines} line{'s' if lines != 1 else ''}")  # fmt: skip


def _meta(words: VideoText, language: str) -> ProductMeta:
    lines = list(dict.fromkeys(" ".join(ln.split()) for ln in words.text.splitlines() if ln.strip()))
    return ProductMeta(
        product=lines[0][:120], selling_points=[ln[:200] for ln in lines[1 : 1 + _MAX_POINTS]], language=language
    )


def _read(media: Path, language: str | None, field_name: str) -> tuple[VideoText, np.ndarray, list[str]]:
    """The words and the creative vector of `media`, and the warnings about its language; an undecodable file
    is an InputError naming it."""
    notes: list[str] = []
    try:
        tagged = track_language(media) if media.suffix.lower() in VIDEO_SUFFIXES else None
        if language is None:
            language = tagged or "en"
        elif tagged and tagged != language:
            notes.append(f"{media.name}'s subtitle track is tagged {tagged!r}, --language says {language!r}")
        words = video_text(media, language)
        vector = creative_vector(measure_video(media))
    except (ToolError, av.error.FFmpegError) as exc:
        raise InputError(field_name, f"{media}: cannot be read as a video or image: {one_line(str(exc))}") from None
    return words, vector, notes


def encode_media(
    media: Path, output: Path, *, language: str | None = None, field_name: str = "TEXT"
) -> EncodedVideo:
    """Read the D-SIDs of the video or image `media`, write them as a SID file to `output` and read it back.
    ``language``: of the words on screen (default: the subtitle track's tag, else English).

    Raises InputError naming `field_name` when the file is missing, cannot be decoded, carries no words (no
    subtitle track, nothing OCR reads) or its words are in a script the shipped tokenizer does not read."""
    if not media.is_file():
        raise InputError(field_name, f"file not found: {media}")
    words, vector, notes = _read(media, language, field_name)
    still = is_image(media)
    if not words.text.strip():
        where = "OCR read nothing" if still else "no subtitle track, and OCR read nothing"
        raise InputError(field_name, f"{media.name} carries no words: {where} in {words.language!r} "
                                     "(pass --language when its text is in another)")  # fmt: skip
    tokenizer = shipped_tokenizer()
    meta = _meta(words, words.language)
    with logged_warnings() as warnings:
        warnings.extend(notes)
        try:
            # the words are checked as product text is (meta product + selling points)
            for warning in check_encodable(tokenizer.reads, words.text, None, meta,
                                           field_names=dict.fromkeys(_FIELDS, field_name)):  # fmt: skip
                warnings.append(warning)
        except InputError as exc:
            why = exc.message.split(";")[0]
            raise InputError(field_name, f"the words read from {media.name} ({words.source}) cannot get content "
                                         f"codes: {tokenizer.reads.says()}; {why}") from None  # fmt: skip
        text = tokenizer.encoder.encode([words.text])
        creative = tokenizer.encode_creative_video(text, vector[None, :])[0]
        content, _ = tokenizer.encode_content(product_text_of(meta))  # as its SID file's meta would be coded
        sid = SidFile(tokenizer=tokenizer.version, content=content, creative=creative, meta=meta)
        write_sid_file(sid, output)
        loaded = load_sid_file(output, tokenizer)
    return EncodedVideo(path=output, loaded=loaded, words=words, warnings=warnings)
