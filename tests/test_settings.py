"""Settings are read once, by the shell: a bad value names what the user set (the flag or the RAGVID_
variable, or the Studio context field), and a resumed run continues with the settings it started with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragvid.settings import Settings
from ragvid.studio import StudioContext
from tools.errors import InputError


def test_a_bad_flag_or_variable_is_named_as_set(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match=r"^--profile: Input should be 'full' or 'fast', got \"medium\"$"):
        Settings.load(profile="medium")
    monkeypatch.setenv("RAGVID_MAX_REFLECTIONS", "7")
    with pytest.raises(InputError, match=r"^RAGVID_MAX_REFLECTIONS: Input should be less than or equal to 2"):
        Settings.load()
    assert Settings.load(max_reflections=1).max_reflections == 1  # a flag wins over the variable


@pytest.mark.parametrize(
    ("exe", "message"), [("/nonexistent/ffmpeg", "not an executable"), ("/bin/false", "is not ffmpeg")]
)
def test_a_bad_ffmpeg_setting_is_an_input_error(tmp_path: Path, exe: str, message: str) -> None:
    with pytest.raises(InputError, match=f"^RAGVID_FFMPEG: .*{message}"):
        Settings(home=tmp_path, ffmpeg=exe).run_context()


def test_ffmpeg_on_path_by_name_is_accepted(tmp_path: Path) -> None:
    from tools.ffmpeg import shipped

    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "ffmpeg").symlink_to(shipped().exe)
    ctx = Settings(home=tmp_path, ffmpeg=str(folder / "ffmpeg")).run_context()
    assert ctx.ffmpeg.exe == str(folder / "ffmpeg") and os.access(ctx.ffmpeg.exe, os.X_OK)


@pytest.mark.parametrize(
    ("context", "field"),
    [({"max_reflections": 7}, "context.max_reflections"), ({"profile_name": "medium"}, "context.profile_name"),
     ({"tts": "festival"}, "context.tts"), ({"threads": 0}, "context.threads")],
)  # fmt: skip
def test_studio_context_is_checked_like_the_cli(context: dict[str, object], field: str) -> None:
    with pytest.raises(InputError, match=f"^{field}: "):
        StudioContext(**context)  # type: ignore[arg-type]


def test_studio_context_builds_its_tools_from_the_fields(tmp_path: Path) -> None:
    ctx = StudioContext(home=tmp_path, profile_name="fast", max_reflections=1)
    assert ctx.profile.name == "fast" and ctx.max_reflections == 1 and ctx.home == tmp_path
    assert ctx.toolbox.composer.name == "ffmpeg" and ctx.policy.name == "rule"


def test_resume_refuses_a_sid_file_or_output(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = run_cli("generate", "examples/sids/coffee.json", "--resume", "some-run", "-o", str(tmp_path / "x.mp4"))
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.code == 2 and len(lines) == 1, res.stderr
    assert lines[0] == "error: --resume: the run continues with its own SID file and output: drop SID_FILE and -o"
