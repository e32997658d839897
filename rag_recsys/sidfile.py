"""The SID file (ARCHITECTURE §3): validation of untrusted JSON, decoding through the lexicon, writing.

Every failure is an `InputError` whose ``str()`` is one line naming the file and the field
(``coffee.json: meta.images[0]: file not found: …``), so the CLI can print it as is. A SID may also come
inline (a graph input's JSON, no file): `load_sid` checks it the same way.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from rag_recsys.codes import Code
from rag_recsys.creative import CreativeStyle
from rag_recsys.lexicon import ContentMeaning
from rag_recsys.recommender import ScoredDSID
from rag_recsys.tokenizer import DSIDTokenizer
from tools.errors import InputError

log = logging.getLogger("ragvid.sid")

# Below this cosine the content codes and the product text describe different things; the meta
# is what the advertiser wrote, so it wins and the codes only steer the look of the category.
DISAGREEMENT_THRESHOLD = 0.3

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
    similarity: float | None  # cosine of product_text to the content path; None without meta
    product_text: str


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


def check_codes(sid: SidFile, tokenizer: DSIDTokenizer, file: str | Path | None = None) -> None:
    lexicon = tokenizer.lexicon
    # Codes only mean something under the tokenizer that made them, so check that first.
    if sid.tokenizer != tokenizer.version:
        raise InputError("tokenizer", f"file made with {sid.tokenizer}, this is {tokenizer.version}", file)
    for field, codes, depth, known in (
        ("content", sid.content, lexicon.content_depth, lexicon.has_content),
        ("creative", sid.creative, lexicon.creative_depth, lexicon.has_creative),
    ):
        if len(codes) != depth:
            raise InputError(field, f"expected {depth} codes, got {len(codes)}", file)
        if not known(codes):
            raise InputError(field, f"unknown code path {codes} (not in lexicon {tokenizer.version})", file)


def load_sid_file(path: str | Path, tokenizer: DSIDTokenizer | None = None) -> LoadedSid:
    """Read, check and decode a SID file; its images are relative to its folder."""
    path = Path(path)
    return load_sid(parse_sid_file(path), tokenizer, path.resolve().parent, path)


def load_sid(
    sid: SidFile, tokenizer: DSIDTokenizer | None = None, base_dir: Path | None = None, path: Path | None = None
) -> LoadedSid:
    """Check a parsed SID against ``tokenizer`` (version, depths, known code paths, image files relative to
    ``base_dir``, default the working directory) and decode it through the lexicon. ``path`` names the file
    in errors. Raises `InputError`."""
    tokenizer = tokenizer or DSIDTokenizer.load_default()
    check_codes(sid, tokenizer, path)
    base_dir = (base_dir or Path.cwd()).resolve()
    image_paths: list[Path] = []
    for i, image in enumerate(sid.meta.images if sid.meta else []):
        resolved = (base_dir / image).resolve()
        if not resolved.is_file():
            raise InputError(f"meta.images[{i}]", f"file not found: {resolved}", path)
        image_paths.append(resolved)

    content = tokenizer.decode_content(sid.content)
    product_text = product_text_of(sid.meta)
    similarity: float | None = None
    if product_text:
        similarity = tokenizer.content_similarity(product_text, sid.content)
        if similarity < DISAGREEMENT_THRESHOLD:
            log.warning(
                "%s: content codes %s (%s) disagree with meta product %r (cosine %.2f < %.2f); the meta wins",
                path or "inline SID", sid.content, ", ".join(content.entities[:3]),
                sid.meta.product if sid.meta else None, similarity, DISAGREEMENT_THRESHOLD,
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
