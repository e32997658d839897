"""Role prompts and the shared tool description, shipped as package data (templates, not literals
scattered in code). `system_prompt()` is byte-identical for every agent of every run, which is what
lets a prefix-caching server (vLLM) reuse it."""

from __future__ import annotations

import functools
from importlib.resources import files
from string import Template

ROLES = ("instruction", "visual", "audio", "effect", "critic")


@functools.cache
def load(name: str) -> str:
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


def system_prompt() -> str:
    return load("instructions.md").rstrip() + "\n\n" + load("tools.md").rstrip() + "\n"


def role_prompt(role: str, **values: str) -> str:
    if role not in ROLES:
        raise KeyError(f"no role prompt '{role}' (roles: {', '.join(ROLES)})")
    return Template(load(f"roles/{role}.md")).safe_substitute(values).rstrip() + "\n"
