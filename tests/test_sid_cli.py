"""`ragvid sid encode/decode` through typer's runner (the sub-app, as ragvid/cli.py mounts it)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ragvid.commands.sid import sid_app

runner = CliRunner()


def test_encode_then_decode(tmp_path: Path) -> None:
    image = tmp_path / "shoe.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    out = tmp_path / "sids" / "shoes.json"
    result = runner.invoke(sid_app, [
        "encode", "Lightweight running shoes", "--style", "energetic pop fast punchy",
        "--brand", "Stride", "--price", "$129", "--selling-point", "Responsive foam",
        "--selling-point", "Breathable knit", "--cta", "Run now", "--image", str(image), "-o", str(out),
    ])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["meta"]["images"] == ["../shoe.png"]
    assert doc["meta"]["selling_points"] == ["Responsive foam", "Breathable knit"]
    assert len(doc["content"]) == 3 and len(doc["creative"]) == 2

    decoded = runner.invoke(sid_app, ["decode", str(out), "--json"])
    assert decoded.exit_code == 0, decoded.output
    info = json.loads(decoded.stdout)
    assert info["creative"]["look"] == "energetic-pop"
    assert [p["path"] for p in info["content"]["prefixes"]] == [doc["content"][:d] for d in (1, 2, 3)]
    assert info["similarity"] > 0.3

    table = runner.invoke(sid_app, ["decode", str(out)])
    assert table.exit_code == 0 and "energetic-pop" in table.stdout and "cosine" in table.stdout


def test_user_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(sid_app, ["decode", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "file: not found" in missing.stderr
    assert missing.stderr.strip().count("\n") == 0 and "Traceback" not in missing.output

    out = str(tmp_path / "x.json")
    long_brand = runner.invoke(sid_app, ["encode", "coffee", "--brand", "b" * 121, "-o", out])
    assert long_brand.exit_code == 2
    assert long_brand.stderr.strip() == "error: meta.brand: text too long: 121 characters (max 120)"

    no_image = runner.invoke(sid_app, ["encode", "coffee", "--image", "nope.png", "-o", out])
    assert no_image.exit_code == 2 and "--image[0]: file not found: nope.png" in no_image.stderr
    assert not (tmp_path / "x.json").exists()
