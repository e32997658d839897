"""`ragvid sid …`: write SID files from product text and read what a SID file's codes mean."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from ragvid.exits import command
from tools.errors import InputError

sid_app = typer.Typer(
    help="Encode product text to a SID file, or decode a SID file's codes through the lexicon.",
    no_args_is_help=True,
)


def _image_refs(images: list[Path], output: Path) -> list[str]:
    """Image paths as the SID file stores them: relative to the SID file's folder."""
    refs: list[str] = []
    for i, image in enumerate(images):
        if not image.is_file():
            raise InputError(f"--image[{i}]", f"file not found: {image}")
        refs.append(Path(os.path.relpath(image.resolve(), output.resolve().parent)).as_posix())
    return refs


@sid_app.command()
@command
def encode(
    text: Annotated[str, typer.Argument(help="Product text, e.g. 'Aurora single-origin coffee beans'.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="SID file to write (JSON).")],
    style: Annotated[str | None, typer.Option(help="Creative style text, e.g. 'warm cozy steady'.")] = None,
    brand: Annotated[str | None, typer.Option()] = None,
    price: Annotated[str | None, typer.Option()] = None,
    selling_point: Annotated[
        list[str] | None, typer.Option("--selling-point", help="Repeat for several.")
    ] = None,
    cta: Annotated[str | None, typer.Option(help="Call to action.")] = None,
    url: Annotated[str | None, typer.Option()] = None,
    image: Annotated[
        list[Path] | None, typer.Option("--image", help="Product image; repeat for several.")
    ] = None,
    language: Annotated[str, typer.Option()] = "en",
) -> None:
    """Write a SID file for TEXT (the product), with meta built from the options."""
    from rag_recsys.sidfile import ProductMeta, encode_sid, load_sid_file, write_sid_file
    from rag_recsys.tokenizer import DSIDTokenizer

    if not text.strip():
        raise InputError("TEXT", "product text is empty")
    try:
        meta = ProductMeta(
            product=text, brand=brand, price=price, selling_points=selling_point or [], cta=cta, url=url,
            images=_image_refs(image or [], output), language=language,
        )
    except ValidationError as exc:
        raise InputError.from_validation(exc, prefix=("meta",)) from None
    tokenizer = DSIDTokenizer.load_default()
    sid = encode_sid(tokenizer, text, style, meta)
    try:
        write_sid_file(sid, output)
    except OSError as exc:
        raise InputError("--output", f"cannot write: {exc}") from None
    loaded = load_sid_file(output, tokenizer)  # proves the written file is valid
    console = Console(stderr=True, soft_wrap=True)
    console.print(
        f"wrote {output}: content {sid.content} ({', '.join(loaded.content.entities[:3])}; "
        f"cosine {loaded.similarity:.2f}), creative {sid.creative} "
        f"({loaded.creative.look} × {loaded.creative.rhythm})",
        highlight=False,
    )


def _decoded(loaded: Any, tokenizer: Any) -> dict[str, Any]:
    codes = loaded.sid.content
    return {
        "file": str(loaded.path),
        "tokenizer": loaded.sid.tokenizer,
        "content": {
            "path": codes,
            "prefixes": [
                tokenizer.decode_content(codes[:d]).model_dump() for d in range(1, len(codes) + 1)
            ],
        },
        "creative": loaded.creative.model_dump(),
        "similarity": loaded.similarity,
        "product_text": loaded.product_text,
        "meta": loaded.sid.meta.model_dump(exclude_none=True) if loaded.sid.meta else None,
        "images": [str(p) for p in loaded.image_paths],
        "user": loaded.sid.user,
    }


@sid_app.command()
@command
def decode(
    file: Annotated[Path, typer.Argument(help="SID file (JSON).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Print what FILE's content and creative codes mean."""
    from rag_recsys.sidfile import load_sid_file
    from rag_recsys.tokenizer import DSIDTokenizer

    tokenizer = DSIDTokenizer.load_default()
    loaded = load_sid_file(file, tokenizer)
    doc = _decoded(loaded, tokenizer)
    if as_json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return

    console = Console()
    content = Table(title=f"content {doc['content']['path']}  ({loaded.sid.tokenizer})", show_lines=True)
    for column in ("prefix", "size", "entities", "topics", "titles"):
        content.add_column(column)
    for meaning in doc["content"]["prefixes"]:
        content.add_row(
            str(meaning["path"]), str(meaning["size"]), ", ".join(meaning["entities"]),
            "\n".join(meaning["topics"]), "\n".join(meaning["titles"]),
        )
    console.print(content)

    style = loaded.creative
    creative = Table(title=f"creative {style.path}: {style.look} × {style.rhythm}", show_header=False)
    creative.add_column("setting")
    creative.add_column("value")
    creative.add_row("description", style.description)
    palette = style.palette
    creative.add_row(
        "palette",
        " ".join(f"[{c} on {palette.background}] {name} {c} [/]" for name, c in
                 (("surface", palette.surface), ("text", palette.text), ("accent", palette.accent)))
        + f"  background {palette.background}",
    )
    creative.add_row(
        "type", f"{style.font_weight}, uppercase {style.uppercase_titles}, scale {style.title_scale}"
    )
    creative.add_row("shots", f"{style.shot_seconds} s, camera {', '.join(style.camera_motions)}")
    creative.add_row("transitions", f"{', '.join(style.transitions)} ({style.transition_seconds} s)")
    creative.add_row("music", f"{style.music_mood}, {style.music_bpm} bpm")
    creative.add_row("voice rate", str(style.voice_rate))
    console.print(creative)

    similarity = "n/a (no meta)" if loaded.similarity is None else f"{loaded.similarity:.3f}"
    console.print(f"product: {loaded.product_text}", highlight=False)
    console.print(f"cosine(product, content path) = {similarity}", highlight=False)
