"""The rules the code keeps as it grows, read from its source (ast) and its objects: layers import only
downwards, the environment is read in one module, each vocabulary and limit has one owner, errors share
one root, the CLI leaves through one exit function, and the runtime needs no bench-only package."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("tools", "rag_recsys", "agents", "graphs", "ragvid")  # bottom to top


def sources(*packages: str) -> Iterator[tuple[Path, ast.Module]]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_layers_import_only_downwards(package: str) -> None:
    above = set(PACKAGES[PACKAGES.index(package) + 1 :])
    offenders = {str(p.relative_to(ROOT)): sorted(imported(t) & above) for p, t in sources(package)}
    assert {p: names for p, names in offenders.items() if names} == {}


def test_the_environment_is_read_in_the_settings_module_only() -> None:
    offenders = []
    for path, tree in sources(*PACKAGES):
        if path == ROOT / "ragvid" / "settings.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


# name → the one module that defines it
OWNERS = {
    "Palette": "tools/vocabulary.py", "HexColour": "tools/vocabulary.py", "CameraMotion": "tools/vocabulary.py",
    "CAMERA_MOTIONS": "tools/vocabulary.py", "Transition": "tools/vocabulary.py", "TRANSITIONS": "tools/vocabulary.py",
    "MusicMood": "tools/vocabulary.py", "MUSIC_MOODS": "tools/vocabulary.py", "MOOD_ALIASES": "tools/vocabulary.py",
    "Code": "rag_recsys/codes.py", "END_CARD_SECONDS": "tools/limits.py", "LEAD_IN": "tools/limits.py",
    "TAIL": "tools/limits.py", "TARGET_LUFS": "tools/limits.py", "MIN_DURATION": "tools/limits.py",
    "MAX_DURATION": "tools/limits.py", "MAX_REFLECTIONS": "tools/limits.py", "ASPECTS": "graphs/state.py",
    "BLOCKING": "agents/models.py", "AGENT_ORDER": "agents/models.py",
}  # fmt: skip


def defined(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_each_vocabulary_and_limit_is_defined_once() -> None:
    where: dict[str, list[str]] = {}
    for path, tree in sources(*PACKAGES):
        for name in defined(tree) & set(OWNERS):
            where.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert where == {name: [owner] for name, owner in OWNERS.items()}


def test_every_layer_uses_the_owners_objects() -> None:
    from agents.models import ShotInstructions
    from rag_recsys.creative import CreativeStyle, all_styles
    from tools.composer import FfmpegComposer
    from tools.models import Palette as ToolsPalette
    from tools.models import Timeline
    from tools.music import MOODS
    from tools.vocabulary import MUSIC_MOODS, TRANSITIONS, MusicMood, Palette

    assert ToolsPalette is Palette
    assert CreativeStyle.model_fields["palette"].annotation is Palette
    assert ShotInstructions.model_fields["music_mood"].annotation is MusicMood
    assert set(MOODS) == set(MUSIC_MOODS) and FfmpegComposer.transitions == set(TRANSITIONS)
    assert all(set(s.transitions) <= set(TRANSITIONS) for s in all_styles())
    from tools.limits import TARGET_LUFS

    assert Timeline.model_fields["target_lufs"].default == TARGET_LUFS


def test_every_error_has_one_root_and_is_one_line() -> None:
    from agents.llm_client import LLMError
    from graphs.rag import NoRecommendation
    from graphs.state import StateError
    from ragvid.llm_server import LLMServerError
    from tools.errors import BackendMissing, InputError, RagvidError, ToolError

    for cls in (InputError, ToolError, BackendMissing, LLMError, NoRecommendation, StateError, LLMServerError):
        assert issubclass(cls, RagvidError), cls
    assert str(InputError("meta.images[0]", "file not\nfound", "x.json")) == "x.json: meta.images[0]: file not found"
    assert str(ToolError("a\n  b")) == "a b"
    import importlib
    import inspect

    ours = []
    for path, _ in sources(*PACKAGES):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        module = importlib.import_module(name)
        ours += [c for _, c in inspect.getmembers(module, inspect.isclass)
                 if issubclass(c, BaseException) and c.__module__ == module.__name__]  # fmt: skip
    assert len(ours) >= 10
    assert [c.__qualname__ for c in ours if not issubclass(c, RagvidError)] == []


def test_the_cli_leaves_through_one_exit_function() -> None:
    offenders = []
    for path, tree in sources("ragvid"):
        if path == ROOT / "ragvid" / "exits.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == "SystemExit":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if not isinstance(node, ast.Attribute):
                continue
            sys_exit = node.attr == "exit" and isinstance(node.value, ast.Name) and node.value.id == "sys"
            if node.attr in ("Exit", "Abort") or sys_exit:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sid", "decode", "missing.json"], "error: missing.json: file: not found"),
        (["rec", "train", "nowhere", "-o", "m", "--preset", "huge"], "error: --preset: unknown preset 'huge'"),
        (["rec", "eval", "nowhere"], "error: MODEL_DIR: nowhere/best.pt: not found"),
        (["generate", "examples/sids/coffee.json", "-o", "x.avi"], "error: -o/--out: "),
        (["recommend", "-u", "examples/users/maker.json", "--kind", "magic"], "error: --kind: unknown recommender"),
        (["llm", "serve", "--launch"], "error: vllm is not installed here"),
        (["generate", "--bogus"], "error: ragvid generate: No such option: --bogus"),
        (["generate", "x.json", "--duration", "abc"], "error: ragvid generate: Invalid value for '--duration'"),
        (["schema", "nope"], "error: ragvid schema: No such command 'nope'"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(args: list[str], expected: str, tmp_path: Path) -> None:
    env = {"RAGVID_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "ragvid.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120, check=False)  # fmt: skip
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith(expected), proc.stderr


def test_the_runtime_needs_no_moviepy() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("moviepy")]
    assert any(d.startswith("moviepy") for d in project["optional-dependencies"]["bench"])
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p, _ in sources(*PACKAGES)]
    code = (
        "import importlib, sys\n"
        f"for m in {[m.removesuffix('.__init__') for m in modules]!r}:\n"
        "    importlib.import_module(m)\n"
        "print('moviepy' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "False"


def test_the_cli_starts_without_loading_the_heavy_layers() -> None:
    """`ragvid --help` and a flag error answer at once: the CLI imports models, SDKs and graphs only in the
    command that needs them."""
    heavy = ("torch", "openai", "langgraph", "av", "faiss")
    code = f"import sys, ragvid.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=False)  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr



def _makes_console(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.module == "rich" and any(a.name == "print" for a in node.names)
    if isinstance(node, ast.Call):
        func = node.func
        return (func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")) == "Console"
    return False


def test_every_console_prints_user_strings_literally() -> None:
    """Issue 11 item 10: a rich Console made anywhere but `ragvid.progress.literal_console` would parse markup
    in paths and product text (``out[dir]`` printed as ``out``), and so would ``rich.print``."""
    offenders = [
        f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        for path, tree in sources(*PACKAGES)
        if path != ROOT / "ragvid" / "progress.py"
        for node in ast.walk(tree)
        if _makes_console(node)
    ]
    assert offenders == []
