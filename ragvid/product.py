"""Product text → SID file: the one way the shell turns what an advertiser writes about a product into a
SID file, shared by `ragvid sid encode` and `ragvid generate --product`, so the same text can never be
encoded two ways.

The meta is built and checked against the SID format's limits (untrusted text), the text is encoded
through the shipped tokenizer (which refuses text its encoder does not read), the file is written and read
back (proving it valid) — errors are `InputError`s naming the flag or field; the warnings the encoder logs
(text it reads only in part) come back with the result, for the command to print.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from rag_recsys.sidfile import LoadedSid, ProductMeta, encode_sid, load_sid_file, write_sid_file
from rag_recsys.tokenizers import default_tokenizer
from ragvid.progress import logged_warnings
from tools.errors import InputError


@dataclass(frozen=True)
class ProductText:
    """What an advertiser writes about a product, as the CLI's options give it; untrusted text, held to the
    SID format's limits when encoded."""

    product: str
    style: str | None = None
    """creative style text ("warm cozy steady"); None: the default creative path"""
    brand: str | None = None
    price: str | None = None
    selling_points: tuple[str, ...] = ()
    cta: str | None = None
    url: str | None = None
    images: tuple[Path, ...] = ()
    """product images as given (relative to the working directory); stored relative to the SID file"""
    language: str = "en"


@dataclass(frozen=True)
class EncodedProduct:
    """A SID file written from product text, as read back through the lexicon."""

    path: Path
    loaded: LoadedSid
    warnings: list[str] = field(default_factory=list)
    """what the encoder logged as it went (text it reads only in part), one line each"""

    def summary(self) -> str:
        """The codes and what they mean, for the CLI's ``wrote`` line: ``content [82, 10, 7] (Coffee, …;
        cosine 0.53), creative [0, 1] (warm-cozy × steady)``; the cosine says why when it is left out."""
        loaded, sid = self.loaded, self.loaded.sid
        cosine = "n/a" if loaded.similarity is None else f"{loaded.similarity:.2f}"
        note = f" ({loaded.similarity_note})" if loaded.similarity_note else ""
        return (f"content {sid.content} ({', '.join(loaded.content.entities[:3])}; cosine {cosine}{note}), "
                f"creative {sid.creative} ({loaded.creative.look} × {loaded.creative.rhythm})")  # fmt: skip


def field_names(text_field: str) -> dict[str, str]:
    """What the encoder's messages call a field, as the command's user typed it (the product text is
    ``text_field``: an argument or a flag, depending on the command)."""
    return {"product": text_field, "meta.product": text_field, "meta.brand": "--brand",
            "meta.selling_points": "--selling-point", "style": "--style", "meta.language": "--language"}  # fmt: skip


def image_refs(images: tuple[Path, ...], output: Path) -> list[str]:
    """Image paths as a SID file stores them: relative to the SID file's folder (``--image[i]`` names a
    missing one)."""
    refs: list[str] = []
    for i, image in enumerate(images):
        if not image.is_file():
            raise InputError(f"--image[{i}]", f"file not found: {image}")
        refs.append(Path(os.path.relpath(image.resolve(), output.resolve().parent)).as_posix())
    return refs


def encode_product(text: ProductText, output: Path, *, text_field: str = "TEXT",
                   output_field: str = "--output") -> EncodedProduct:  # fmt: skip
    """Write the SID file of ``text`` to ``output`` and read it back. ``text_field`` and ``output_field``
    name the product text and the file in errors as the calling command calls them (``TEXT``/``--output`` for
    `ragvid sid encode`, ``--product``/``-o/--out`` for `ragvid generate`). Raises `InputError`."""
    if not text.product.strip():
        raise InputError(text_field, "product text is empty")
    try:
        meta = ProductMeta(
            product=text.product, brand=text.brand, price=text.price, selling_points=list(text.selling_points),
            cta=text.cta, url=text.url, images=image_refs(text.images, output), language=text.language,
        )  # fmt: skip
    except ValidationError as exc:
        raise InputError.from_validation(exc, prefix=("meta",)) from None
    tokenizer = default_tokenizer()
    with logged_warnings() as warnings:
        sid = encode_sid(tokenizer, text.product, text.style, meta, field_names=field_names(text_field))
        try:
            write_sid_file(sid, output)
        except OSError as exc:
            raise InputError(output_field, f"cannot write {output}: {exc.strerror or exc}") from None
        loaded = load_sid_file(output, tokenizer)  # proves the written file valid
    return EncodedProduct(path=output, loaded=loaded, warnings=warnings)
