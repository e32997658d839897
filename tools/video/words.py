"""The words a video carries: the text half of its content view (paper §2.2, where D_content describes the
entities and topics of a video and the words on screen name most of them: the product, the brand, the
selling points, the call to action).

Two sources, best first:

- `subtitle_track` — a soft subtitle stream (MP4 ``mov_text``, SRT/ASS in Matroska) is the text itself, with
  its timing: decoded by PyAV, which turns every text codec into ASS dialogue, so one code path serves all of
  them (no hand parsing of MP4 boxes or subtitle files);
- `ocr_text` — otherwise the words are burned into the pixels and tesseract reads them from sampled frames.

`video_text` takes the first that holds any text and says which it used.

Why tesseract through ``pytesseract``: tesseract is a Debian package with per-language traineddata packages
(``tesseract-ocr-eng``, ``tesseract-ocr-chi-sim`` …) that reads a 1080×1920 frame in well under a second on
one CPU core; ``pytesseract`` is a small pure-Python wrapper (nothing to compile) whose ``image_to_data``
gives words with their confidences and block/paragraph/line numbers, which is what line grouping and
de-duplication need. ``tesserocr`` binds the C API but compiles against libtesseract headers of one
version; EasyOCR and PaddleOCR bring torch/paddle models of hundreds of MB and are several times slower
on CPU for the large, clean type that ad overlays use.

Preprocessing, measured on ``ragvid generate examples/sids/coffee.json`` renders (12–20 frames at 1 fps,
tesseract 5.3, ``eng``, ``--psm 3``; recall over the distinct content words of the burned-in subtitles,
title and CTA / precision over the words read at word confidence ≥ 50):

==========================================  ==============  ===============  ==================
frames                                      grey, as is     grey, upscaled   light-text mask
==========================================  ==============  ===============  ==================
fast profile, 360×640                       0.92 / 1.00     0.67–0.92 (×2–3) 1.00 / 1.00 (×2)
draft size, 270×480 (scaled from the above) 0.58 / 0.92     0.92 / 1.00 (×2) 1.00 / 1.00 (×3)
full profile, 1080×1920                     0.95 / 1.00     —                1.00 / 0.97
==========================================  ==============  ===============  ==================

ragvid sets its text light (white, cream) with a dark outline, over footage of any brightness and over the
CTA's orange card, where grey levels give tesseract's own Otsu threshold too little contrast ("Order" was
missed on every grey variant). Keeping only the light pixels (luma > 200) as black ink on white reads every
word; the dark-text mask (luma < 55) reads the outlines instead and halves recall, and Otsu on the upscaled
frame drops recall to 0.75. Hence the default `binarise="light_text"`, upscaling to a shorter side of at least
720 px, and ``"dark_text"``/``"off"`` for videos that set their text otherwise. Every burned-in line read with a
mean word confidence of 90–96; the noise lines (``"wit"``, ``"4 8"``, read off footage) scored 56–66, hence
`min_confidence=70`.
"""

from __future__ import annotations

import itertools
import math
import re
import shutil
import time
from collections.abc import Sequence
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np
import pytesseract
from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field, computed_field

from tools.errors import InputError, ToolError
from tools.languages import LANGUAGES, language_of
from tools.probe import frames as sample_frames
from tools.probe import probe

Binarise = Literal["light_text", "dark_text", "off"]

# tesseract names its traineddata by ISO 639-2/T, except Chinese, which it splits by script
_TRADITIONAL = re.compile(r"-(hant|tw|hk|mo)(-|$)")
# scripts written without spaces between words: tesseract's "words" there are runs of characters
_UNSPACED = ("chi_sim", "chi_tra", "jpn")
_DEFAULT_THRESHOLD: dict[Binarise, int] = {"light_text": 200, "dark_text": 55}
_SAME_LINE = 0.8  # SequenceMatcher ratio above which two readings are one line (OCR varies a letter or two)
_ASS_TAG = re.compile(r"\{[^}]*\}")


class Cue(BaseModel):
    """One subtitle of a soft subtitle track: shown from ``start_s`` to ``end_s`` (seconds on the file's
    timeline), ``text`` with its line breaks as newlines and styling tags (ASS override blocks) removed."""

    model_config = ConfigDict(frozen=True)

    start_s: float = Field(ge=0)
    end_s: float = Field(ge=0)
    text: str


class OcrLine(BaseModel):
    """One line of burned-in text: the best reading of it (highest mean word confidence), when it was first and
    last seen (s, at the sampled frames' times), its confidence (tesseract's 0–100 scale: the mean over that
    reading's words) and on how many sampled frames it was read."""

    model_config = ConfigDict(frozen=True)

    text: str
    first_seen_s: float
    last_seen_s: float
    confidence: float = Field(ge=0, le=100)
    frames: int = Field(ge=1)


class OcrResult(BaseModel):
    """What `ocr_text` read: the lines in order of first appearance, the tesseract language it read with
    (``eng``, ``chi_sim`` …), how many frames it sampled and the wall time it took (s)."""

    model_config = ConfigDict(frozen=True)

    language: str
    frames: int
    lines: list[OcrLine]
    seconds: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def text(self) -> str:
        """Every line's text, one per line, in order of first appearance."""
        return "\n".join(line.text for line in self.lines)


class VideoText(BaseModel):
    """The words a video carries (`video_text`): from its subtitle track when it has one with text (``cues``
    set, ``ocr`` None), else read from its frames (``ocr`` set, ``cues`` None). ``language`` is the BCP 47 tag
    asked for; ``text`` is the cues' or the OCR lines' text, one per line."""

    model_config = ConfigDict(frozen=True)

    source: Literal["subtitle_track", "ocr"]
    language: str
    text: str
    cues: list[Cue] | None = None
    ocr: OcrResult | None = None


# --------------------------------------------------------------------------------------------- subtitles


def subtitle_track(path: Path) -> list[Cue] | None:
    """The cues of the first text subtitle stream of `path` (MP4 ``mov_text``, SRT/ASS/WebVTT in Matroska …),
    in file order; None when the file has no subtitle stream with text (bitmap subtitles such as PGS hold
    pictures, not text, and count as none). Empty cues (``mov_text`` writes one for every gap) are dropped.
    A cue without a duration in the file ends where the next one starts (the last one: at the end of the
    file). Raises ToolError when the file is missing or PyAV cannot open it."""
    container = _open(path)
    with container:
        stream = next((s for s in container.streams.subtitles if _is_text(s)), None)
        if stream is None:
            return None
        base = stream.time_base
        if base is None:
            raise ToolError(f"{path}: subtitle stream {stream.index} has no time base")
        timed: list[tuple[float, float | None, str]] = []
        for packet in container.demux(stream):
            if packet.pts is None:
                continue  # the demuxer's flush packet
            start = float(packet.pts * base)
            length = float(packet.duration * base) if packet.duration else None
            text = "\n".join(t for sub in packet.decode() if (t := _dialogue_text(sub)))
            if text:
                timed.append((start, length, text))
        end_of_file = container.duration / av.time_base if container.duration else None
    cues = []
    for i, (start, length, text) in enumerate(timed):
        nxt = timed[i + 1][0] if i + 1 < len(timed) else end_of_file
        end = start + length if length is not None else (nxt if nxt is not None else start)
        cues.append(Cue(start_s=round(start, 6), end_s=round(max(end, start), 6), text=text))
    return cues


def track_language(path: Path) -> str | None:
    """The language of the first text subtitle stream of `path` as a ragvid language code (its ISO 639-2 tag
    ``zho`` → ``zh``), None when there is no such stream or its tag names no language ragvid supports
    (``und``, none). Raises ToolError when PyAV cannot open the file."""
    with _open(path) as container:
        stream = next((s for s in container.streams.subtitles if _is_text(s)), None)
        tag = (stream.language or "").lower() if stream is not None else ""
    return next((lang.code for lang in LANGUAGES.values() if lang.iso639_2 == tag), None)


def _open(path: Path) -> Any:
    path = Path(path)
    if not path.exists():
        raise ToolError(f"no such media file: {path}")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as e:
        raise ToolError(f"cannot open media {path}: {e}") from e


def _is_text(stream: Any) -> bool:
    # bitmap codecs (PGS, DVD, DVB) decode to pictures; the codec descriptor says which kind a codec is
    codec = stream.codec_context.codec if stream.codec_context else None
    return bool(codec is not None and codec.text_sub)


def _dialogue_text(sub: Any) -> str:
    raw = getattr(sub, "dialogue", b"")
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    # PyAV's `dialogue` drops the ASS event fields and turns \N into a newline; override tags such as
    # {\i1} (what an SRT <i> becomes) and the soft break \n / hard space \h remain
    text = _ASS_TAG.sub("", text).replace("\\n", "\n").replace("\\N", "\n").replace("\\h", " ")
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


# --------------------------------------------------------------------------------------------- OCR


def tesseract_language(language: str) -> str:
    """The tesseract traineddata name of a BCP 47 tag: ``en`` → ``eng``, ``es`` → ``spa``, ``zh`` → ``chi_sim``
    (``zh-Hant``/``zh-TW``/``zh-HK`` → ``chi_tra``), ``ar`` → ``ara``, ``hi`` → ``hin``, and so on for every
    language ragvid supports (`tools.languages`). Raises InputError naming ``language`` for a malformed tag or a
    language ragvid does not support (the message lists the supported ones)."""
    lang = language_of(language, field="language")
    if lang.code == "zh":
        return "chi_tra" if _TRADITIONAL.search(language.strip().lower().replace("_", "-")) else "chi_sim"
    return lang.iso639_2


def ocr_text(
    path: Path,
    language: str = "en",
    *,
    sample_fps: float = 1.0,
    max_frames: int = 120,
    binarise: Binarise = "light_text",
    threshold: int | None = None,
    min_short_side: int = 720,
    min_confidence: float = 70.0,
    tessdata_dir: Path | None = None,
) -> OcrResult:
    """Burned-in text of the video at `path`, read by tesseract from sampled frames.

    Each frame is converted to grey, upscaled, binarised to black text on white and read with ``--psm 3``
    (automatic page segmentation); the module doc has the measurements behind each default. A line read on
    consecutive sampled frames (one missed frame tolerated: a transition can hide it) is kept once, with the
    reading of highest confidence.

    Args:
        path: any video PyAV opens.
        language: BCP 47 tag of the text (``en``, ``es``, ``zh``, ``ar``, ``hi`` …; `tesseract_language`).
        sample_fps: frames read per second of video, each at the middle of its 1/`sample_fps` s interval (so a
            fade-in's first frame is never the one read).
        max_frames: at most this many frames; a longer video has them spread evenly instead.
        binarise: ``light_text`` keeps pixels brighter than `threshold` as ink, ``dark_text`` those darker,
            ``off`` leaves the grey frame to tesseract's own (Otsu) threshold.
        threshold: the luma level (0–255) between text and background; default 200 for ``light_text``, 55 for
            ``dark_text``.
        min_short_side: frames whose shorter side is under this (px) are upscaled by the smallest integer
            factor that reaches it, at most 4× (tesseract reads glyphs best at 20–40 px; a 270×480 draft's
            subtitles are 8–10 px).
        min_confidence: words tesseract is less sure of (0–100) are dropped.
        tessdata_dir: where the traineddata files are, when not tesseract's default folder.

    Returns:
        The lines in order of first appearance, with times in seconds and confidences on tesseract's 0–100 scale.

    Raises:
        InputError: an unsupported or malformed ``language``, or an option out of range (named).
        ToolError: no tesseract binary (``apt-get install tesseract-ocr``), no traineddata for the language
            (names the Debian package, e.g. ``tesseract-ocr-chi-sim``), a tesseract failure, or a video that
            cannot be read.
    """
    started = time.perf_counter()
    code = tesseract_language(language)
    _check_options(sample_fps, max_frames, min_short_side, min_confidence, threshold)
    config = f'--psm 3 --tessdata-dir "{tessdata_dir}"' if tessdata_dir is not None else "--psm 3"
    _require_tesseract(code, tessdata_dir)
    info = probe(path)
    if info.video is None:
        raise ToolError(f"{path}: no video stream to read text from")
    times = sample_times(info.duration, sample_fps, max_frames)
    level = threshold if threshold is not None else _DEFAULT_THRESHOLD.get(binarise, 0)
    tracks: list[_Track] = []
    for index, (t, rgb) in enumerate(zip(times, sample_frames(path, times), strict=True)):
        image = prepare(rgb, binarise=binarise, threshold=level, min_short_side=min_short_side)
        readings = _read_lines(image, code, config, min_confidence, t)
        _merge(tracks, readings, index, t)
    lines = [tr.line() for tr in tracks]
    return OcrResult(language=code, frames=len(times), lines=lines, seconds=round(time.perf_counter() - started, 3))


def sample_times(duration: float, sample_fps: float, max_frames: int) -> list[float]:
    """Times (s) of the frames `ocr_text` reads in a video of `duration` s: the middle of each 1/`sample_fps` s
    interval, or `max_frames` evenly spread middles when that would be more; at least one."""
    n = max(1, math.floor(duration * sample_fps + 1e-9))
    if n > max_frames:
        return [round((k + 0.5) * duration / max_frames, 6) for k in range(max_frames)]
    return [round(min((k + 0.5) / sample_fps, duration), 6) for k in range(n)]


def prepare(rgb: np.ndarray, *, binarise: Binarise, threshold: int, min_short_side: int) -> Image.Image:
    """One H×W×3 uint8 RGB frame as the greyscale (``off``) or 1-bit black-on-white image tesseract reads,
    upscaled as `ocr_text` describes, with a 16 px white margin (tesseract misses text touching the edge)."""
    grey = ImageOps.grayscale(Image.fromarray(rgb))
    factor = min(4, max(1, math.ceil(min_short_side / max(1, min(grey.size)))))
    if factor > 1:
        grey = grey.resize((grey.width * factor, grey.height * factor), Image.Resampling.LANCZOS)
    if binarise == "off":
        return ImageOps.expand(grey, border=16, fill=255)
    luma = np.asarray(grey)
    ink = luma > threshold if binarise == "light_text" else luma < threshold
    return ImageOps.expand(Image.fromarray(np.where(ink, 0, 255).astype(np.uint8)), border=16, fill=255)


def _check_options(
    sample_fps: float, max_frames: int, min_short_side: int, min_confidence: float, threshold: int | None
) -> None:
    if not sample_fps > 0:
        raise InputError("sample_fps", f"must be above 0 frames per second, got {sample_fps}")
    if max_frames < 1:
        raise InputError("max_frames", f"must be at least 1, got {max_frames}")
    if min_short_side < 1:
        raise InputError("min_short_side", f"must be at least 1 px, got {min_short_side}")
    if not 0 <= min_confidence <= 100:
        raise InputError("min_confidence", f"must be within 0–100, got {min_confidence}")
    if threshold is not None and not 0 <= threshold <= 255:
        raise InputError("threshold", f"must be a luma level within 0–255, got {threshold}")


def _require_tesseract(code: str, tessdata_dir: Path | None) -> None:
    """Raise ToolError unless the tesseract binary runs and has `code`'s traineddata."""
    cmd = str(pytesseract.pytesseract.tesseract_cmd)
    missing = "tesseract OCR is not installed: apt-get install tesseract-ocr"
    if shutil.which(cmd) is None:
        raise ToolError(f"{missing} (no executable '{cmd}')")
    config = f'--tessdata-dir "{tessdata_dir}"' if tessdata_dir is not None else ""
    try:
        installed = pytesseract.get_languages(config=config)
    except pytesseract.TesseractNotFoundError:
        raise ToolError(f"{missing} ('{cmd}' does not run)") from None
    if code not in installed:
        package = "tesseract-ocr-" + code.replace("_", "-")
        where = f" in {tessdata_dir}" if tessdata_dir is not None else ""
        raise ToolError(
            f"tesseract has no '{code}' traineddata{where}: apt-get install {package} "
            f"(installed: {', '.join(installed) or 'none'})"
        )


class _Reading(BaseModel):
    text: str
    confidence: float


def _read_lines(image: Image.Image, code: str, config: str, min_confidence: float, t: float) -> list[_Reading]:
    """The lines tesseract reads in one prepared frame, in reading order, each with its words' mean confidence."""
    try:
        data = pytesseract.image_to_data(image, lang=code, config=config, output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError:
        raise ToolError("tesseract OCR is not installed: apt-get install tesseract-ocr") from None
    except pytesseract.TesseractError as e:
        raise ToolError(f"tesseract failed on the frame at {t:.2f} s: {e.message}") from None
    # one reading per paragraph: a title or subtitle wrapped over two lines is one text, and the content
    # encoder must see "Single-Origin Coffee Beans", not "Single-" and "Origin Coffee Beans" apart
    words: dict[tuple[int, int], list[tuple[str, float, int]]] = {}
    for i, word in enumerate(data["text"]):
        conf = float(data["conf"][i])
        if data["level"][i] != 5 or not word.strip() or conf < min_confidence:
            continue
        key = (data["block_num"][i], data["par_num"][i])
        words.setdefault(key, []).append((word.strip(), conf, data["line_num"][i]))
    sep = "" if code in _UNSPACED else " "
    readings = []
    for found in words.values():  # dicts keep tesseract's reading order
        text = found[0][0]
        for (prev, _, prev_line), (word, _, line) in itertools.pairwise(found):
            # a word broken at a hyphen over a line end is one word again
            text += word if line != prev_line and prev.endswith("-") and sep else sep + word
        if re.search(r"\w", text):  # a line of lone punctuation is a speck of noise
            readings.append(_Reading(text=text, confidence=sum(c for _, c, _ in found) / len(found)))
    return readings


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


class _Track:
    """A line followed across sampled frames while `_merge` de-duplicates."""

    def __init__(self, reading: _Reading, index: int, t: float) -> None:
        self.best = reading
        self.key = _normal(reading.text)
        self.first_s = self.last_s = t
        self.last_index = index
        self.frames = 1

    def line(self) -> OcrLine:
        return OcrLine(text=self.best.text, first_seen_s=self.first_s, last_seen_s=self.last_s,
                       confidence=round(self.best.confidence, 2), frames=self.frames)  # fmt: skip


def _merge(tracks: list[_Track], readings: Sequence[_Reading], index: int, t: float) -> None:
    """Add frame `index`'s readings: each joins the most similar line still on screen (seen on one of the two
    previous sampled frames, and not yet on this one) when similar enough, else starts a new line."""
    for reading in readings:
        key = _normal(reading.text)
        best, best_ratio = None, _SAME_LINE
        for track in tracks:
            if not index - 2 <= track.last_index < index:
                continue
            ratio = SequenceMatcher(None, key, track.key).ratio()
            if ratio >= best_ratio:
                best, best_ratio = track, ratio
        if best is None:
            tracks.append(_Track(reading, index, t))
            continue
        best.last_s, best.last_index, best.frames = t, index, best.frames + 1
        if reading.confidence > best.best.confidence:
            best.best, best.key = reading, key


# --------------------------------------------------------------------------------------------- both


def cue_text(cues: Sequence[Cue]) -> str:
    """The words of a subtitle track: one line per cue (a cue wrapped over lines is one text)."""
    return "\n".join(" ".join(c.text.split()) for c in cues)


def video_text(path: Path, language: str = "en", **ocr_options: Any) -> VideoText:
    """The words `path` carries: its subtitle track when it has one with text, else `ocr_text` (with
    `ocr_options`). `language` is checked either way, so a bad tag fails the same on every video.
    Raises what `subtitle_track` and `ocr_text` raise."""
    tesseract_language(language)
    cues = subtitle_track(path)
    if cues:
        return VideoText(source="subtitle_track", language=language, text=cue_text(cues), cues=cues)
    ocr = ocr_text(path, language, **ocr_options)
    return VideoText(source="ocr", language=language, text=ocr.text, ocr=ocr)


__all__ = [
    "Binarise", "Cue", "OcrLine", "OcrResult", "VideoText", "cue_text", "ocr_text", "prepare", "sample_times",
    "subtitle_track", "tesseract_language", "track_language", "video_text",
]  # fmt: skip
