"""A video or an image → SID file: the D-SIDs read back from pixels and sound (`ragvid sid encode out.mp4`).

The reward learning needs this check — does a generated video match the SIDs it was made from — and a
person needs it to file an existing ad. Both views of the paper's video encoder (section 2.2) are read:

- *content*: the words the video carries (`tools.video.words.video_text`: its soft subtitle track when it
  has one, else tesseract OCR of its frames), encoded like product text by the shipped tokenizer, so a
  video and the text it was made from land on one content path when the words survive;
- *creative*: the video's measured look and rhythm (`tools.video.measures`), matched to the nearest look
  and rhythm by the discriminants fit on the project's own renders (`rag_recsys.creative_classifier`, built
  by `python -m ragvid.creative_renders`). A still image has a look but no rhythm: its rhythm is the default.

The first line read becomes ``meta.product`` and the next ones selling points (each within the SID format's
limits), so the written file renders; the words read and how they were read are reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rag_recsys.creative import DEFAULT_CREATIVE
from rag_recsys.creative_classifier import CreativeClassifier, CreativeMatch
from rag_recsys.sidfile import LoadedSid, ProductMeta, encode_sid, load_sid_file, write_sid_file
from rag_recsys.tokenizer import ARTIFACT_DIR, DSIDTokenizer
from ragvid.creative_renders import CLASSIFIER_FILE
from ragvid.product import field_names
from ragvid.progress import logged_warnings
from tools.errors import InputError
from tools.video.measures import creative_vector, measure_video
from tools.video.words import VideoText, video_text

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
_MAX_POINTS = 8


@dataclass(frozen=True)
class EncodedVideo:
    """A SID file written from a video or image, with what was read to make it."""

    path: Path
    loaded: LoadedSid
    words: VideoText
    creative: CreativeMatch
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """``content [82, 10, 7] (Coffee, …), creative [0, 1] (warm-cozy × steady); words from ocr, 9 lines``."""
        sid, loaded = self.loaded.sid, self.loaded
        lines = len([ln for ln in self.words.text.splitlines() if ln.strip()])
        return (f"content {sid.content} ({', '.join(loaded.content.entities[:3])}), creative {sid.creative} "
                f"({loaded.creative.look} × {loaded.creative.rhythm}); words from {self.words.source}, "
                f"{lines} line{'s' if lines != 1 else ''}")  # fmt: skip


def is_media(path: Path) -> bool:
    """Whether `path` names a video or image file this module reads (by suffix, case ignored)."""
    return path.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES


@cache
def shipped_classifier() -> CreativeClassifier:
    """The creative classifier shipped beside the tokenizer."""
    return CreativeClassifier.load(ARTIFACT_DIR / CLASSIFIER_FILE)


def _meta(words: VideoText, language: str) -> ProductMeta:
    lines = list(dict.fromkeys(" ".join(ln.split()) for ln in words.text.splitlines() if ln.strip()))
    return ProductMeta(
        product=lines[0][:120], selling_points=[ln[:200] for ln in lines[1 : 1 + _MAX_POINTS]], language=language
    )


def encode_media(media: Path, output: Path, *, language: str = "en", field_name: str = "TEXT") -> EncodedVideo:
    """Read the D-SIDs of the video or image `media`, write them as a SID file to `output` and read it back.

    Raises InputError naming `field_name` when the file is missing or carries no words (no subtitle track,
    nothing OCR reads), and what `video_text` and `measure_video` raise for undecodable files."""
    if not media.is_file():
        raise InputError(field_name, f"file not found: {media}")
    words = video_text(media, language)
    if not words.text.strip():
        raise InputError(field_name, f"{media.name} carries no words: no subtitle track, and OCR read nothing in "
                                     f"{language!r} (pass --language when its text is in another)")  # fmt: skip
    still = media.suffix.lower() in IMAGE_SUFFIXES
    match = shipped_classifier().match(creative_vector(measure_video(media)), rhythm=not still)
    creative = [match.path[0], DEFAULT_CREATIVE[1] if still else match.path[1]]
    tokenizer = DSIDTokenizer.load_default()
    meta = _meta(words, language)
    with logged_warnings() as warnings:
        # the words are encoded as product text is (meta product + selling points), the one text encoding
        sid = encode_sid(tokenizer, words.text, None, meta, field_names=field_names(field_name))
        write_sid_file(sid.model_copy(update={"creative": creative}), output)
        loaded = load_sid_file(output, tokenizer)
    return EncodedVideo(path=output, loaded=loaded, words=words, creative=match, warnings=warnings)
