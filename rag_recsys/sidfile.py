"""The SID file (ARCHITECTURE §3): validation of untrusted JSON, decoding through the lexicon, writing.

Every failure is an `InputError` whose ``str()`` is one line naming the file and the field
(``coffee.json: meta.images[0]: file not found: …``), so the CLI can print it as is. A SID may also come
inline (a graph input's JSON, no file): `load_sid` checks it the same way.

The text encoder reads what it declares (`rag_recsys.reads`; MiniLM: English). `encode_sid` refuses
product or style text it does not read and warns, on the ``ragvid.sid`` logger, for text it reads only in
part or in a language it does not read; `load_sid` leaves the meta/content cosine out (None, with
``similarity_note`` saying why) for meta it does not read — such meta still loads and renders.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from rag_recsys.codes import Code
from rag_recsys.creative import CreativeStyle
from rag_recsys.lexicon import ContentMeaning
from rag_recsys.reads import Reads, language_note, legibility, require_readable
from rag_recsys.recommender import ScoredDSID
from rag_recsys.tokenizers import Tokenizer, default_tokenizer, require_version
from tools.errors import InputError

log = logging.getLogger("ragvid.sid")

Text120 = Annotated[str, StringConstraints(max_length=120)]
Text80 = Annotated[str, StringConstraints(max_length=80)]
Text40 = Annotated[str, StringConstraints(max_length=40)]
Text35 = Annotated[str, StringConstraints(max_length=35)]  # longest practical BCP 47 tag
Text200 = Annotated[str, StringConstraints(max_length=200)]
Text500 = Annotated[str, StringConstraints(max_length=500)]


class ProductMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: Text120 | None = None
    brand: Text120 | None = None
    price: Text40 | None = None
    selling_points: Annotated[list[Text200], Field(max_length=8)] = []
    cta: Text80 | None = None
    url: Text500 | None = None
    images: Annotated[list[Text500], Field(max_length=8)] = []
    language: Text35 = "en"


class SidFile(BaseModel):
    """A D-SID with what a video of it needs: the tokenizer that made the codes, the content and creative
    code paths, the advertiser's product meta (untrusted text) and optional user context."""

    model_config = ConfigDict(extra="forbid")

    tokenizer: str
    content: list[Code]
    creative: list[Code]
    meta: ProductMeta | None = None
    user: dict[str, Any] = {}


class LoadedSid(BaseModel):
    """A checked SID decoded through the lexicon."""

    sid: SidFile
    path: Path | None = Field(description="the SID file; None for an inline SID")
    base_dir: Path
    image_paths: list[Path]
    content: ContentMeaning
    creative: CreativeStyle
    similarity: float | None  # cosine of product_text to the content path; None: see similarity_note
    product_text: str
    similarity_note: str | None = Field(
        default=None,
        description="why similarity is None (no meta; meta the text encoder does not read) or approximate",
    )


def product_text_of(meta: ProductMeta | None) -> str:
    if meta is None:
        return ""
    parts = [meta.product, meta.brand, *meta.selling_points]
    # selling points copied from product pages end in full stops of their own
    return ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip().rstrip("."))


def read_json_file(path: Path) -> Any:
    """The JSON value of a file; an unreadable or malformed file is an `InputError` naming it."""
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file", "not found", path) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError("file", f"cannot read: {exc}", path) from None
    try:
        return json.loads(raw_text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise InputError("json", f"malformed JSON at {where}: {exc.msg}", path) from None


def parse_sid(raw: object, file: str | Path | None = None) -> SidFile:
    """A `SidFile` from JSON; an `InputError` naming the field (and ``file``) when it is not one."""
    if not isinstance(raw, dict | SidFile):
        raise InputError("json", f"expected a JSON object, got {type(raw).__name__}", file)
    try:
        return SidFile.model_validate(raw)
    except ValidationError as exc:
        raise InputError.from_validation(exc, file) from None


def parse_sid_file(path: Path) -> SidFile:
    return parse_sid(read_json_file(path), path)


def check_codes(sid: SidFile, tokenizer: Tokenizer, file: str | Path | None = None) -> None:
    lexicon = tokenizer.lexicon
    # Codes only mean something under the tokenizer that made them, so check that first.
    product = sid.meta.product if sid.meta and sid.meta.product else "PRODUCT TEXT"
    require_version(sid.tokenizer, tokenizer, "SID made", "its codes mean other things here; re-encode it from its "
                    f"product text: ragvid sid encode {json.dumps(product, ensure_ascii=False)} [--style STYLE] "
                    "-o NEW.json", file)  # fmt: skip
    for field, codes, depth, known in (
        ("content", sid.content, lexicon.content_depth, lexicon.has_content),
        ("creative", sid.creative, lexicon.creative_depth, lexicon.has_creative),
    ):
        if len(codes) != depth:
            raise InputError(field, f"expected {depth} codes, got {len(codes)}", file)
        if not known(codes):
            raise InputError(field, f"unknown code path {codes} (not in lexicon {tokenizer.version})", file)


def load_sid_file(path: str | Path, tokenizer: Tokenizer | None = None) -> LoadedSid:
    """Read, check and decode a SID file; its images are relative to its folder."""
    path = Path(path)
    return load_sid(parse_sid_file(path), tokenizer, path.resolve().parent, path)


def image_files(sid: SidFile, base_dir: Path, path: Path | None = None) -> list[Path]:
    """The absolute paths of `sid`'s ``meta.images``, relative ones taken from `base_dir`; `InputError` naming
    ``meta.images[i]`` (and the file `path`) for one that is not a file."""
    image_paths: list[Path] = []
    for i, image in enumerate(sid.meta.images if sid.meta else []):
        resolved = (base_dir / image).resolve()
        if not resolved.is_file():
            raise InputError(f"meta.images[{i}]", f"file not found: {resolved}", path)
        image_paths.append(resolved)
    return image_paths


def load_sid(
    sid: SidFile, tokenizer: Tokenizer | None = None, base_dir: Path | None = None, path: Path | None = None
) -> LoadedSid:
    """Check a parsed SID against ``tokenizer`` (version, depths, known code paths, image files relative to
    ``base_dir``, default the working directory) and decode it through the lexicon. ``path`` names the file
    in errors. Raises `InputError`."""
    tokenizer = tokenizer or default_tokenizer()
    check_codes(sid, tokenizer, path)
    base_dir = (base_dir or Path.cwd()).resolve()
    image_paths = image_files(sid, base_dir, path)
    content = tokenizer.decode_content(sid.content)
    product_text = product_text_of(sid.meta)
    similarity, note = _meta_similarity(sid, product_text, tokenizer, content, path)
    if not product_text:
        product_text = ", ".join(content.entities)
    return LoadedSid(
        sid=sid,
        path=path,
        base_dir=base_dir,
        image_paths=image_paths,
        content=content,
        creative=tokenizer.decode_creative(sid.creative),
        similarity=similarity,
        product_text=product_text,
        similarity_note=note,
    )


def _meta_similarity(
    sid: SidFile, product_text: str, tokenizer: Tokenizer, content: ContentMeaning, path: Path | None
) -> tuple[float | None, str | None]:
    """The cosine of the meta's product text to the content path, and a note when it is None or approximate.
    Meta the encoder does not read gets no cosine (it would be noise that looks like a measurement)."""
    if not product_text:
        return None, "no product meta"
    where = path or "inline SID"
    reads = tokenizer.reads
    seen = legibility(product_text, reads)
    if not seen.readable:
        skipped = f"skipped: the meta's product text is {seen.found()}; {reads.says()}"
        log.warning("%s: meta/content cosine %s", where, skipped)
        return None, skipped
    notes = [f"{seen.found()} unread"] if seen.partial else []
    language = sid.meta.language if sid.meta else None
    if language_note(language, reads):
        notes.append(f"meta.language '{language}' is not one the text encoder reads ({reads.label})")
    note = f"approximate: {'; '.join(notes)}" if notes else None
    similarity = tokenizer.content_similarity(product_text, sid.content)
    if note:
        log.info("%s: meta/content cosine %.2f is %s", where, similarity, note)
    # below the tokenizer's threshold the codes and the product text describe different things; the meta is what
    # the advertiser wrote, so it wins and the codes only steer the look of the category
    if similarity < tokenizer.disagreement_threshold:
        log.warning(
            "%s: content codes %s (%s) disagree with meta product %r (cosine %.2f < %.2f%s); the meta wins",
            where, sid.content, ", ".join(content.entities[:3]), sid.meta.product if sid.meta else None,
            similarity, tokenizer.disagreement_threshold, f", {note}" if note else "",
        )
    return similarity, note


PRODUCT_REMEDY = (
    "encode a name or description of the product in one of those languages instead (the SID file's meta may then "
    "be in any "
    "language: rendering reads it, only the codes need English)"
)
STYLE_REMEDY = (
    "describe the style in one of those languages (e.g. 'warm cozy steady') or leave it out for the default look"
)


def _content_fields(product: str, meta: ProductMeta | None) -> list[tuple[str, str]]:
    """The fields whose text `encode_sid` embeds for the content codes, as (field path, text)."""
    if meta is None or not product_text_of(meta):
        return [("product", product)]
    fields = [("meta.product", meta.product), ("meta.brand", meta.brand)]
    fields += [(f"meta.selling_points[{i}]", p) for i, p in enumerate(meta.selling_points)]
    return [(name, text) for name, text in fields if text]


def _named(field: str, names: Mapping[str, str] | None) -> str:
    """``field`` as the caller's user knows it: ``names`` maps a field path (``meta.brand``) or a list
    field without index (``meta.selling_points``) to a name (``--brand``, ``--selling-point``)."""
    if names is None:
        return field
    if field in names:
        return names[field]
    base, bracket, index = field.partition("[")
    return f"{names[base]}[{index}" if bracket and base in names else field


def check_encodable(
    reads: Reads,
    product: str,
    style: str | None = None,
    meta: ProductMeta | None = None,
    *,
    field_names: Mapping[str, str] | None = None,
) -> list[str]:
    """Check the texts `encode_sid` would embed against what the encoder ``reads`` (the rule:
    `rag_recsys.reads`). Raises `InputError` when the product text (``product``, or the meta's product,
    brand and selling points together, as they are embedded) or the style is mostly in scripts the encoder
    does not read; the error names the field with the most such letters. Returns the warnings, one line
    each (``"<field>: …"``): text partly in such scripts, and a ``meta.language`` the encoder does not read.
    ``field_names`` renames fields for the caller's user (see `encode_sid`)."""
    fields = _content_fields(product, meta)
    text = product_text_of(meta) or product
    counted = [(name, legibility(t, reads).unread_letters) for name, t in fields]
    worst = max(counted, key=lambda c: c[1])[0] if counted else "product"
    unread = ", ".join(_named(name, field_names) for name, n in counted if n) or _named(worst, field_names)
    # refusal names the one field that weighs most; a warning names every field with unread letters
    warnings: list[str] = []
    try:
        warning = require_readable(unread, text, reads, "the product text", PRODUCT_REMEDY)
    except InputError as exc:
        raise InputError(_named(worst, field_names), exc.message) from None
    if warning:
        warnings.append(warning)
    if style and style.strip():
        warning = require_readable(_named("style", field_names), style, reads, "the style text", STYLE_REMEDY)
        if warning:
            warnings.append(warning)
    language = language_note(meta.language, reads) if meta is not None else None
    if language:
        warnings.append(f"{_named('meta.language', field_names)}: {language}")
    return warnings


def encode_sid(
    tokenizer: Tokenizer,
    product: str,
    style: str | None = None,
    meta: ProductMeta | None = None,
    user: dict[str, Any] | None = None,
    *,
    field_names: Mapping[str, str] | None = None,
) -> SidFile:
    """SID of a product text (the meta's product, brand and selling points when given, else ``product``);
    no style → the default creative path.

    Text is first checked against what the tokenizer's encoder reads (`check_encodable`): product or style
    text mostly in a script it does not read raises `InputError` naming the field; text partly in one, or a
    ``meta.language`` it does not read, is encoded and each warning is logged (WARNING, logger
    ``ragvid.sid``) — attach a handler to ``ragvid`` (or call `check_encodable` first) to collect them.
    ``field_names`` maps field paths to what the caller's user typed (``{"meta.product": "TEXT",
    "meta.selling_points": "--selling-point"}``), so messages name the argument or flag."""
    for warning in check_encodable(tokenizer.reads, product, style, meta, field_names=field_names):
        log.warning("%s", warning)
    text = product_text_of(meta) or product
    content, _ = tokenizer.encode_content(text)
    creative = tokenizer.encode_creative(style)[0] if style and style.strip() else list(tokenizer.default_creative)
    return SidFile(
        tokenizer=tokenizer.version, content=content, creative=creative, meta=meta, user=user or {}
    )


def sid_to_json(sid: SidFile) -> str:
    doc = sid.model_dump(mode="json", exclude_none=True)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_sid_file(sid: SidFile, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sid_to_json(sid), encoding="utf-8")
    return path


def sid_from_recommendation(
    rec: ScoredDSID, tokenizer: Tokenizer, user: dict[str, Any] | None = None, file: str | Path | None = None
) -> SidFile:
    """The SID file of a recommended D-SID: its codes, the catalogue's product meta, the user's wishes.
    Raises an InputError when the codes are not this tokenizer's (a model trained on a foreign index
    recommends items, not D-SIDs a video can be made from) or the meta breaks the format's limits."""
    if rec.tokenizer is None:
        raise InputError(
            "tokenizer",
            f"the recommender's codes come from a foreign index, not a D-SID tokenizer; videos need codes of "
            f"{tokenizer.version} (train with `ragvid rec train` on item texts)",
            file,
        )
    try:
        meta = ProductMeta.model_validate(rec.meta) if rec.meta is not None else None
    except ValidationError as exc:
        raise InputError.from_validation(exc, file, prefix=("meta",)) from None
    sid = SidFile(tokenizer=rec.tokenizer, content=rec.content, creative=rec.creative, meta=meta, user=user or {})
    check_codes(sid, tokenizer, file)
    return sid
