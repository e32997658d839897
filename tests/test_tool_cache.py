"""The tool cache under concurrent writers in one process (``ragvid sid calibrate`` renders two runs at once; a
server runs many): each write has its own temporary file, so both finish and the entry is whole."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tools.cache import ToolCache, temp_beside


async def test_two_writers_of_one_entry_in_one_process_both_finish(tmp_path: Path) -> None:
    cache = ToolCache(tmp_path)
    temps: list[Path] = []

    async def make(tmp: Path) -> None:
        temps.append(tmp)
        tmp.write_bytes(b"first half ")
        await asyncio.sleep(0.05)  # the other writer starts meanwhile
        with tmp.open("ab") as f:
            f.write(b"second half")

    key = "ab" * 16
    results = await asyncio.gather(cache.get_or_create(key, ".bin", make), cache.get_or_create(key, ".bin", make))
    assert len(set(temps)) == 2
    assert {path for path, _ in results} == {cache.path_for(key, ".bin")}
    assert cache.path_for(key, ".bin").read_bytes() == b"first half second half"
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]  # no temporary file left behind


def test_temporary_names_are_hidden_beside_the_entry_and_never_repeat(tmp_path: Path) -> None:
    final = tmp_path / "entry.mp4"
    names = {temp_beside(final) for _ in range(100)}
    assert len(names) == 100
    assert all(p.parent == tmp_path and p.name.startswith(".entry.") and p.suffix == ".mp4" for p in names)
