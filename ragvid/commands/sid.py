"""`ragvid sid …`: write SID files from product text and read what a SID file's codes mean.

Text the shipped encoder does not read (it reads English) is refused by `encode` with exit 2, and text it
reads only in part is encoded with a ``warning:`` line on stderr (the rule: `rag_recsys.reads`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ragvid.exits import command
from ragvid.media_files import IMAGE_SUFFIXES, VIDEO_SUFFIXES, is_media, suffixes
from ragvid.progress import literal_console, logged_warnings
from tools.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

# len(ragvid.style_renders.STYLE_PRODUCTS), written out so that the CLI starts without importing torch
STYLE_PRODUCT_COUNT = 4

sid_app = typer.Typer(
    help="Encode product text or a video to a SID file, decode one, build, calibrate and evaluate a learned D-SID "
    "tokenizer.",
    no_args_is_help=True,
)


@contextmanager
def _warnings_on_stderr() -> Iterator[None]:
    """Print the warnings ragvid's loggers log in the block as ``warning: …`` lines on stderr once it is done
    (a block that fails prints its one error line alone)."""
    with logged_warnings() as messages:
        yield
    console = literal_console()
    for message in messages:
        console.print(f"warning: {message}")


@sid_app.command()
@command
def encode(
    text: Annotated[str, typer.Argument(
        help=f"Product text, e.g. 'Aurora single-origin coffee beans', or a video ({suffixes(VIDEO_SUFFIXES)}) "
             f"or image ({suffixes(IMAGE_SUFFIXES)}) whose D-SIDs are read from its words and its measured look "
             "and rhythm.", metavar="TEXT|VIDEO|IMAGE")],
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
    language: Annotated[str | None, typer.Option(
        help="Language of the text (default en); of a video's words: its subtitle track's tag, else en.")] = None,
) -> None:
    """Write a SID file for TEXT (the product), with meta built from the options; or for a video or image."""
    from ragvid.product import ProductText, encode_product
    from ragvid.video_sid import encode_media

    if is_media(text):
        options = (("--style", style), ("--brand", brand), ("--price", price), ("--selling-point", selling_point),
                   ("--cta", cta), ("--url", url), ("--image", image))  # fmt: skip
        if given := [flag for flag, value in options if value]:
            raise InputError(given[0], "applies to product text; a video's or image's SIDs and meta are read from it")
        read = encode_media(Path(text), output, language=language)
        console = literal_console()
        for warning in read.warnings:
            console.print(f"warning: {warning}")
        console.print(f"wrote {output}: {read.summary()}")
        return

    encoded = encode_product(
        ProductText(product=text, style=style, brand=brand, price=price, selling_points=tuple(selling_point or ()),
                    cta=cta, url=url, images=tuple(image or ()), language=language or "en"),
        output,
    )  # fmt: skip
    console = literal_console()
    for warning in encoded.warnings:
        console.print(f"warning: {warning}")
    console.print(f"wrote {output}: {encoded.summary()}")


def _cosine(similarity: float | None, note: str | None, digits: int) -> str:
    """``cosine 0.61``, ``cosine 0.41 (approximate: …)`` or ``cosine n/a (skipped: …)``."""
    value = "n/a" if similarity is None else f"{similarity:.{digits}f}"
    return f"cosine {value} ({note})" if note else f"cosine {value}"


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
        "similarity_note": loaded.similarity_note,
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
    from rag_recsys.tokenizers import default_tokenizer

    if file.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES:
        raise InputError("FILE", f"{file} is a video or image, not a SID file: read its SIDs with "
                                 f"`ragvid sid encode {file} -o OUT.json`")  # fmt: skip

    tokenizer = default_tokenizer()
    with _warnings_on_stderr():
        loaded = load_sid_file(file, tokenizer)
    doc = _decoded(loaded, tokenizer)
    if as_json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return

    console = literal_console(stderr=False)
    prefixes = doc["content"]["prefixes"]
    # a tokenizer built on the taxonomy titles its members by their leaf names, which the entities already list
    with_titles = any(set(m["titles"]) - set(m["entities"]) for m in prefixes)
    content = Table(title=f"content {doc['content']['path']}  ({loaded.sid.tokenizer})", show_lines=True)
    for column in ("prefix", "members", "entities", "topics", *(["titles"] if with_titles else [])):
        content.add_column(column)
    for meaning in prefixes:
        content.add_row(
            str(meaning["path"]), str(meaning["size"]), ", ".join(meaning["entities"]),
            "\n".join(meaning["topics"]), *(["\n".join(meaning["titles"])] if with_titles else []),
        )
    console.print(content)

    style = loaded.creative
    creative = Table(title=f"creative {style.path}: {style.look} × {style.rhythm}", show_header=False)
    creative.add_column("setting")
    creative.add_column("value")
    creative.add_row("description", style.description)
    palette = style.palette
    swatches = [(f" {name} {c} ", f"{c} on {palette.background}") for name, c in
                (("surface", palette.surface), ("text", palette.text), ("accent", palette.accent))]  # fmt: skip
    creative.add_row("palette", Text.assemble(*swatches, f"  background {palette.background}"))
    case = "UPPERCASE" if style.uppercase_titles else "as written"
    creative.add_row("titles", f"{style.font_weight} weight, {case}, {style.title_scale:g}× size")
    creative.add_row("shots", f"{style.shot_seconds} s, camera {', '.join(style.camera_motions)}")
    creative.add_row("transitions", f"{', '.join(style.transitions)} ({style.transition_seconds} s)")
    creative.add_row("music", f"{style.music_mood}, {style.music_bpm} bpm")
    creative.add_row("voice rate", str(style.voice_rate))
    if style.settings:
        # the medoid is a 6 s draft: its shot_s is a draft's, which the shots row above scales to an ad's
        creative.add_row(
            "medoid draft (6 s)", ", ".join(f"{k} {v:.4g}" for k, v in style.settings.items())
        )
    console.print(creative)

    console.print(f"product: {loaded.product_text}")
    similarity = _cosine(loaded.similarity, loaded.similarity_note, 3).removeprefix("cosine ")
    nearest = (
        f": {tokenizer.nearest_category(loaded.product_text, loaded.sid.content)[0]}"
        if loaded.similarity is not None else ""
    )
    console.print(f"cosine(product, nearest member of the content path) = {similarity}{nearest}")


@sid_app.command()
@command
def build(
    output: Annotated[Path, typer.Option("--output", "-o", help="Tokenizer folder to write.")],
    catalog: Annotated[Path | None, typer.Argument(
        help="Catalogue JSON: {item id: {title, brand, categories, description}} (a data set's <Name>.item.json).",
        show_default=False)] = None,
    taxonomy: Annotated[bool, typer.Option(
        "--taxonomy", help="Build on the packaged Google Product Taxonomy, one item per category (as the shipped "
                           "tokenizer is: --taxonomy --drafts 600 --settings 40).")] = False,
    items: Annotated[int | None, typer.Option(min=2, help="Use the first N items (default: all).")] = None,
    drafts: Annotated[int | None, typer.Option(
        min=2, help="Render at most N drafts, over items spread evenly through the catalogue (default: every "
                    "item, --per-item each).")] = None,
    settings: Annotated[int, typer.Option(min=2, help="Creative settings sampled from the draft settings space.")] = 24,
    per_item: Annotated[int, typer.Option(min=1, help="Draft renders per item, each under another setting.")] = 2,
    work: Annotated[Path | None, typer.Option(
        help="Render cache (default: <output>.work); an interrupted build resumes from it.")] = None,
    encoder: Annotated[str, typer.Option(help="Frozen text encoder.")] = "multilingual-e5-small-q4",
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs of the heads.")] = 60,
    jobs: Annotated[int, typer.Option(min=1, help="Renders and reads at a time.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the settings, the plan, the heads and the codebooks.")] = 0,
    style_products: Annotated[int, typer.Option(
        min=0, max=STYLE_PRODUCT_COUNT, help="Render every creative path with the agents under this many products, "
        "which `sid encode VIDEO` reads creative paths against (about 10 s of CPU each; 0: none, videos are read "
        "through the creative head). Later: ragvid sid calibrate DIR.")] = STYLE_PRODUCT_COUNT,
) -> None:
    """Build a learned D-SID tokenizer folder from CATALOG (or the taxonomy): render drafts, read them back, train
    the disentangled heads (RaG Eqs. 6-8), fit the content and creative codebooks, measure, and write a model card."""
    from rag_recsys.dsid_build import BuildSettings
    from rag_recsys.dsid_heads import HeadsConfig
    from ragvid.dsid_views import build_from_catalogue

    if (catalog is None) == (not taxonomy):
        raise InputError("CATALOG", "give a catalogue file or --taxonomy (one of them)")
    console = literal_console()
    work = work or _default_work(output)
    _, report = build_from_catalogue(
        catalog, output, work=work, items=items, drafts=drafts,
        settings=settings,
        per_item=per_item, encoder=encoder, workers=jobs, seed=seed,
        build=BuildSettings(heads=HeadsConfig(epochs=epochs, seed=seed)), progress=console.print,
    )  # fmt: skip
    console.print(f"wrote {output}: {report['version']}, {report['items']} items, content {report['content_sizes']}, "
                  f"creative {report['creative_sizes']}, collision rate {report['collision_rate']}, "
                  f"item recall@10 {report['item_recall_at_10']} ({report['build_seconds']} s)")  # fmt: skip
    if style_products:
        _calibrate(output, work / "style", style_products, jobs, console)


def _default_work(folder: Path) -> Path:
    """``<folder>.work``: a tokenizer folder's render cache."""
    return folder.with_name(folder.name + ".work")


def _calibrate(folder: Path, work: Path, products: int, jobs: int, console: Console) -> None:
    from ragvid.style_renders import calibrate as render_and_store

    figures = render_and_store(folder, work, products=products, workers=jobs, progress=console.print)
    accuracy = (f", leave-one-product-out accuracy {figures['style_render_accuracy']} (first layer "
                f"{figures['style_render_first_layer_accuracy']})" if "style_render_accuracy" in figures else "")
    console.print(f"wrote {folder / 'style_renders.npz'}: {figures['style_renders']} style renders{accuracy}")


@sid_app.command()
@command
def calibrate(
    folder: Annotated[Path, typer.Argument(help="Tokenizer folder (ragvid sid build).", metavar="DIR")],
    products: Annotated[int, typer.Option(
        min=1, max=STYLE_PRODUCT_COUNT, help="Products each creative path is rendered under.")] = STYLE_PRODUCT_COUNT,
    work: Annotated[Path | None, typer.Option(
        help="Render cache (default: <DIR>.work/style); an interrupted run resumes from it.")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Renders at a time.")] = 2,
) -> None:
    """Render every creative path of a tokenizer folder with the agents (rule policy, fast profile) and store the
    renders' measured creative vectors in it, which `ragvid sid encode VIDEO` reads a video's creative path
    against. `sid build` does this at its end; run it for a folder built with --style-products 0."""
    from rag_recsys.dsid_model import DSIDModel

    try:
        DSIDModel.load(folder)
    except ValueError as exc:
        raise InputError("DIR", str(exc)) from None
    _calibrate(folder, work or _default_work(folder) / "style", products, jobs, literal_console())


@sid_app.command("eval")
@command
def evaluate(
    folder: Annotated[Path, typer.Argument(help="Tokenizer folder (ragvid sid build).", metavar="DIR")],
    catalog: Annotated[Path | None, typer.Option(
        help="Catalogue JSON to encode and measure (default: print the build's own metrics).")] = None,
    items: Annotated[int | None, typer.Option(min=2, help="Measure the first N items of --catalog.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Measure a tokenizer folder: its build metrics, or Table-2 figures on a catalogue's item texts (Recall@K of
    each item's RQ reconstruction among all items, collision rate, compression ratio)."""
    from rag_recsys.dsid_model import METRICS_FILE, DSIDModel
    from rag_recsys.embedding import get_encoder
    from rag_recsys.grm.datasets import item_text
    from rag_recsys.metrics import collision_rate, compression_ratio, flat_keys, reconstruction_recall
    from ragvid.dsid_views import load_catalogue

    if items is not None and catalog is None:
        raise InputError("--items", "applies with --catalog (the build's own metrics cover all its items)")
    try:
        model = DSIDModel.load(folder)
    except ValueError as exc:
        raise InputError("DIR", str(exc)) from None
    if catalog is None:
        doc: dict[str, Any] = json.loads((folder / METRICS_FILE).read_text(encoding="utf-8"))
    else:
        raw = load_catalogue(catalog, "--catalog")
        ids = list(raw)[: items or None]
        vectors = get_encoder(model.config.encoder).encode([item_text(raw[i]) for i in ids])
        zc, _ = model.embed(model.item_features(vectors))
        codes = model.content_codebooks.encode_valid(zc, model.content_paths())
        known = [i for i in ids if i in model.item_codes]
        same = [model.item_codes[i] == codes[ids.index(i)].tolist() for i in known]
        doc = {
            "version": model.version,
            "catalogue": str(catalog),
            "items": len(ids),
            **flat_keys(reconstruction_recall(zc, model.content_codebooks.decode(codes))),
            "collision_rate": collision_rate(codes),
            "compression_ratio": compression_ratio(codes),
            "items_seen_in_build": len(known),
            "same_path_as_build": round(sum(same) / len(same), 4) if same else None,
        }
    if as_json:
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{folder} ({model.version})", show_header=False)
    table.add_column("figure")
    table.add_column("value")
    for key, value in doc.items():
        if not isinstance(value, dict | list):
            table.add_row(key, str(value))
    literal_console(stderr=False).print(table)
