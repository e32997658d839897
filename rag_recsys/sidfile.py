"""The SID file (ARCHITECTURE §3): validation of untrusted JSON, decoding through the lexicon, writing.

Every failure is a ``SidFileError`` whose ``str()`` is one line naming the file and the field, so the
CLI can print it as is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from rag_recsys.creative import CreativeStyle
from rag_recsys.lexicon import ContentMeaning
from rag_recsys.recommender import ScoredDSID
from rag_recsys.tokenizer import DSIDTokenizer

log = logging.getLogger("ragvid.sid")

# Below this cosine the content codes and the product text describe different things; the meta
# is what the advertiser wrote, so it wins and the codes only steer the look of the category.
DISAGREEMENT_THRESHOLD = 0.3

# strict: JSON true/1.5/"3" are not codes, and silently coercing them would hide a broken producer.
Code = Annotated[int, Field(ge=0, strict=True)]


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
    model_config = ConfigDict(extra="forbid")

    tokenizer: str
    content: list[Code]
    creative: list[Code]
    meta: ProductMeta | None = None
    user: dict[str, Any] = {}


class LoadedSid(BaseModel):
    sid: SidFile
    path: Path
    base_dir: Path
    image_paths: list[Path]
    content: ContentMeaning
    creative: CreativeStyle
    similarity: float | None  # cosine of product_text to the content path; None without meta
    product_text: str


class SidFileError(ValueError):
    def __init__(self, field: str, message: str, file: str | Path | None = None) -> None:
        self.field = field
        self.message = " ".join(message.split())  # one line, whatever the input held
        self.file = str(file) if file is not None else None
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.field}: {self.message}"


def field_name(loc: Sequence[int | str]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(top level)"


def validation_error(exc: ValidationError, file: str | Path | None = None, prefix: str = "") -> SidFileError:
    """First pydantic error as a SidFileError with a readable field path like ``meta.images[0]``."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    field = field_name(((prefix,) if prefix else ()) + loc)
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "extra_forbidden":
        message = "unknown key (not part of the SID file format)"
    elif kind == "string_too_long":
        message = f"text too long: {len(value)} characters (max {ctx.get('max_length')})"
    elif kind == "too_long":
        message = f"too many items: {len(value)} (max {ctx.get('max_length')})"
    elif kind == "missing":
        message = "required but missing"
    elif kind == "greater_than_equal":
        message = f"codes are non-negative integers, got {value!r}"
    elif kind.startswith("int"):
        message = f"codes are non-negative integers, got {json.dumps(value)}"
    else:
        message = f"{err['msg']}, got {json.dumps(value)[:80] if _jsonable(value) else type(value).__name__}"
    return SidFileError(field, message, file)


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def product_text_of(meta: ProductMeta | None) -> str:
    if meta is None:
        return ""
    parts = [meta.product, meta.brand, *meta.selling_points]
    # selling points copied from product pages end in full stops of their own
    return ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip().rstrip("."))


def parse_sid_file(path: Path) -> SidFile:
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SidFileError("file", f"not found: {path}", path) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise SidFileError("file", f"cannot read: {exc}", path) from None
    try:
        raw = json.loads(raw_text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise SidFileError("json", f"malformed JSON at {where}: {exc.msg}", path) from None
    if not isinstance(raw, dict):
        raise SidFileError("json", f"expected a JSON object, got {type(raw).__name__}", path)
    try:
        return SidFile.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, path) from None


def check_codes(sid: SidFile, tokenizer: DSIDTokenizer, file: str | Path | None = None) -> None:
    lexicon = tokenizer.lexicon
    # Codes only mean something under the tokenizer that made them, so check that first.
    if sid.tokenizer != tokenizer.version:
        raise SidFileError("tokenizer", f"file made with {sid.tokenizer}, this is {tokenizer.version}", file)
    for field, codes, depth, known in (
        ("content", sid.content, lexicon.content_depth, lexicon.has_content),
        ("creative", sid.creative, lexicon.creative_depth, lexicon.has_creative),
    ):
        if len(codes) != depth:
            raise SidFileError(field, f"expected {depth} codes, got {len(codes)}", file)
        if not known(codes):
            raise SidFileError(field, f"unknown code path {codes} (not in lexicon {tokenizer.version})", file)


def load_sid_file(path: str | Path, tokenizer: DSIDTokenizer | None = None) -> LoadedSid:
    path = Path(path)
    tokenizer = tokenizer or DSIDTokenizer.load_default()
    sid = parse_sid_file(path)
    check_codes(sid, tokenizer, path)
    base_dir = path.resolve().parent
    image_paths: list[Path] = []
    for i, image in enumerate(sid.meta.images if sid.meta else []):
        resolved = (base_dir / image).resolve()
        if not resolved.is_file():
            raise SidFileError(f"meta.images[{i}]", f"file not found: {resolved}", path)
        image_paths.append(resolved)

    content = tokenizer.decode_content(sid.content)
    product_text = product_text_of(sid.meta)
    similarity: float | None = None
    if product_text:
        similarity = tokenizer.content_similarity(product_text, sid.content)
        if similarity < DISAGREEMENT_THRESHOLD:
            log.warning(
                "%s: content codes %s (%s) disagree with meta product %r (cosine %.2f < %.2f); the meta wins",
                path, sid.content, ", ".join(content.entities[:3]), sid.meta.product if sid.meta else None,
                similarity, DISAGREEMENT_THRESHOLD,
            )
    else:
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
    )


def encode_sid(
    tokenizer: DSIDTokenizer,
    product: str,
    style: str | None = None,
    meta: ProductMeta | None = None,
    user: dict[str, Any] | None = None,
) -> SidFile:
    """SID of a product text (plus its meta when given); no style → the default creative path."""
    from rag_recsys.creative import DEFAULT_CREATIVE

    text = product_text_of(meta) or product
    content, _ = tokenizer.encode_content(text)
    creative = tokenizer.encode_creative(style)[0] if style and style.strip() else list(DEFAULT_CREATIVE)
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
    rec: ScoredDSID, tokenizer: DSIDTokenizer, user: dict[str, Any] | None = None, file: str | Path | None = None
) -> SidFile:
    """The SID file of a recommended D-SID: its codes, the catalogue's product meta, the user's wishes.
    Raises a SidFileError when the codes are not this tokenizer's (a model trained on a foreign index
    recommends items, not D-SIDs a video can be made from) or the meta breaks the format's limits."""
    if rec.tokenizer is None:
        raise SidFileError(
            "tokenizer",
            f"the recommender's codes come from a foreign index, not a D-SID tokenizer; videos need codes of "
            f"{tokenizer.version} (train with `ragvid rec train` on item texts)",
            file,
        )
    try:
        meta = ProductMeta.model_validate(rec.meta) if rec.meta is not None else None
    except ValidationError as exc:
        raise validation_error(exc, file, prefix="meta") from None
    sid = SidFile(tokenizer=rec.tokenizer, content=rec.content, creative=rec.creative, meta=meta, user=user or {})
    check_codes(sid, tokenizer, file)
    return sid
