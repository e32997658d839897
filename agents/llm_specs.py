"""What the LLM may decide per role, and the checks its answers must pass to be kept.

Locked: values derived from measurements (cue times from measured speech onsets), from the creative
codes (palette, tempo, typography: a creative code must render the same way every time) or from the
advertiser's meta (product, price, CTA, and the selling points each shot carries on screen and in
its narration intent — the meta wins; the Audio agent still phrases the spoken line). Everything
else is the LLM's to choose, and
each text it writes must stay about the product and keep the meaning of the line it replaces.

Those two are cosines of the text encoder, which reads only what it declares (`rag_recsys.reads`;
MiniLM: English). Where the LLM text, the product or the planned line is mostly in a script it does not
read, a cosine is noise, so the comparison is skipped (`Unchecked`, kept with a note), never guessed.
"""

from __future__ import annotations

import re
from typing import Any

from agents.merge import Check, RoleSpec, Unchecked
from agents.models import Role
from tools.protocols import Capabilities

MIN_TO_PRODUCT = 0.35  # the coherence bar for every line and on-screen text
MIN_TO_RULE = 0.6  # an LLM line must still say what the rule's line said (e.g. its selling point)
MAX_LENGTH_RATIO = 1.3

LOCKED: dict[Role, tuple[str, ...]] = {
    "instruction": (
        "shots[*].index", "shots[*].purpose", "shots[*].selling_point", "shots[*].weight", "shots[*].use_image",
        "shots[*].narration_intent", "shots[*].onscreen_text",
        "palette", "look", "rhythm", "music_bpm", "voice", "voice_rate", "cta", "product", "brand", "price",
        "language", "target_duration", "transitions", "transition_seconds", "title_scale", "uppercase_titles",
    ),
    "visual": ("segments[*].shot_id", "segments[*].start", "segments[*].end", "segments[*].layout",
               "segments[*].image", "segments[*].variant", "boundaries", "bpm", "beat_offset", "duration",
               "end_card_seconds"),
    "audio": ("lines[*].line_id", "lines[*].shot_id", "lines[*].lead_in", "voice", "bgm.bpm", "bgm.duration",
              "bgm.beat_offset", "bgm.accent_times", "bgm.seed", "bgm.key", "ducking", "target_lufs"),
    "effect": ("cues", "transition_seconds", "overlays[*].start", "overlays[*].end", "overlays[*].role",
               "overlays[*].position", "overlays[*].full_frame", "overlays[*].text", "cta.text", "cta.start",
               "cta.end", "cta.role", "cta.position", "cta.full_frame", "cta.box_color", "style.max_chars_per_line",
               "style.max_lines", "style.font", "style.margin_v"),
    "critic": ("round", "findings[*].check", "findings[*].severity", "findings[*].agent", "findings[*].measured",
               "findings[*].expected", "findings[*].shot_id", "findings[*].line_id", "measurements"),
}  # fmt: skip

TEXT_FIELDS = re.compile(
    r"(^shots\[\d+\]\.(subject|scene)$)|(^segments\[\d+\]\.prompt$)|(^lines\[\d+\]\.text$)"
)


def _text(value: Any, rule: Any, anchor: str) -> str | Unchecked | None:
    """Why an LLM text is rejected (empty, too long, off the product, off the planned line), None when it
    passes, `Unchecked` when a text to compare is one the encoder does not read (the length check still ran)."""
    from rag_recsys.embedding import get_text_encoder
    from rag_recsys.reads import unread_reason

    if not isinstance(value, str) or not value.strip():
        return "empty text"
    if isinstance(rule, str) and len(value) > MAX_LENGTH_RATIO * len(rule) + 20:
        return f"{len(value)} characters where the plan has room for about {len(rule)}"
    enc = get_text_encoder()  # loads no weights until it encodes
    compared = {"the LLM text": value, "the product": anchor, "the planned line": rule if isinstance(rule, str) else ""}
    unread = unread_reason(compared, enc.reads)
    if unread is not None:
        return Unchecked(f"coherence check skipped: {unread}")
    vecs = enc.encode([value, anchor, rule if isinstance(rule, str) else anchor])
    to_product, to_rule = float(vecs[0] @ vecs[1]), float(vecs[0] @ vecs[2])
    if to_product < MIN_TO_PRODUCT:
        return f"off-topic: cosine {to_product:.2f} to the product (< {MIN_TO_PRODUCT})"
    if isinstance(rule, str) and to_rule < MIN_TO_RULE:
        return f"changes the meaning: cosine {to_rule:.2f} to the planned line (< {MIN_TO_RULE})"
    return None


def _check(anchor: str, caps: Capabilities | None) -> Check:
    def check(path: str, value: Any, rule: Any) -> str | Unchecked | None:
        if TEXT_FIELDS.match(path):
            return _text(value, rule, anchor)
        if caps is not None and (path.endswith("music_mood") or path == "bgm.mood") and value not in caps.moods:
            return f"mood {value!r} is not one the music tool '{caps.music}' composes"
        if re.match(r"^transitions(\[\d+\])?$", path):
            names = value if isinstance(value, list) else [value]
            if isinstance(value, list) and isinstance(rule, list) and len(value) != len(rule):
                return f"expected {len(rule)} transitions, got {len(value)}"
            bad = [n for n in names if caps is not None and n not in caps.transitions]
            return f"transitions {bad} are not supported by composer '{caps.composer}'" if bad and caps else None
        if path.endswith(".rate"):
            return None if 0.85 <= float(value) <= 1.2 else f"rate {value} outside 0.85–1.2"
        if path == "style.font_size":
            return None if 40 <= int(value) <= 96 else f"font size {value} outside 40–96"
        if path.endswith(".message"):
            return None if isinstance(value, str) and 0 < len(value) <= 200 else "message empty or too long"
        return None

    return check


def _choices(caps: Capabilities | None) -> dict[str, list[Any]]:
    rates = [0.9, 0.95, 1.0, 1.05, 1.1]
    sizes = list(range(40, 97, 4))
    choices: dict[str, list[Any]] = {
        "lines[*].rate": rates,
        "style.font_size": sizes,
        "overlays[*].font_size": sizes,
        "cta.font_size": sizes,
    }
    if caps is not None:
        moods, cameras, transitions = sorted(caps.moods), sorted(caps.camera_motions), sorted(caps.transitions)
        choices |= {"music_mood": moods, "bgm.mood": moods, "shots[*].camera": cameras,
                    "segments[*].camera": cameras, "transitions[*]": transitions}  # fmt: skip
    return choices


def spec_for(role: Role, anchor: str, caps: Capabilities | None = None) -> RoleSpec:
    """What the LLM may decide for ``role``: the locked fields, the checks (text stays on the product and
    keeps the planned meaning; choices within what the active tools support) and the enumerated choices."""
    return RoleSpec(locked=LOCKED[role], check=_check(anchor, caps), choices=_choices(caps))
