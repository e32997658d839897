"""The web gallery in a real headless browser: Debian's chromium driven by selenium through Debian's
chromium-driver (no browser or driver download). Two videos are rendered by a real `ragvid worker` (fast
profile) — the coffee example and a copy whose meta holds the Generate tests' hostile strings and a ``<script>``
— and served by `ragvid serve`: the gallery lists them, a video plays (H.264 in the browser, ``currentTime``
advances), a run's page shows its rounds and findings, hostile meta shows as text, "try a user" ranks and
serves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, ROOT, free_port, start_serve
from tests.test_generate_e2e import HOSTILE

pytestmark = pytest.mark.slow

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCRIPT = "<script>document.title='pwned'</script><b>bold?</b>"
HOSTILE_META = {**HOSTILE, "selling_points": [*HOSTILE["selling_points"], SCRIPT]}


@pytest.fixture(scope="module")
def server(rec_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("gallery")
    env = {**os.environ, "RAGVID_HOME": str(tmp / "home")}
    sid = json.loads((EXAMPLES / "coffee.json").read_text())
    images = [str((EXAMPLES / i).resolve()) for i in sid["meta"]["images"]]
    sid["meta"] = {**sid["meta"], **HOSTILE_META, "images": images}
    sid["creative"] = [4, 5]  # another pair than the coffee example's, so it is a job of its own
    (tmp / "hostile.json").write_text(json.dumps(sid))

    def ragvid(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ragvid.cli", *args], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=600, check=False)  # fmt: skip

    added = ragvid("jobs", "add", str(EXAMPLES / "coffee.json"), str(tmp / "hostile.json"))
    assert added.returncode == 0, added.stderr
    hostile_job = added.stdout.split("\n")[1].split()[0]
    worked = ragvid("worker", "--once", "--profile", "fast", "-q")
    assert worked.returncode == 0 and "2 jobs done" in worked.stderr, worked.stderr
    port = free_port()
    proc = start_serve(port, env, "--workers", "0", "--no-examples", "--model", str(rec_model))
    base = f"http://127.0.0.1:{port}"
    yield {"base": base, "hostile": hostile_job}
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM and DRIVER, "Debian's chromium and chromium-driver are needed (make test installs them)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio",
                "--autoplay-policy=no-user-gesture-required", "--window-size=1280,1000"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(predicate: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_the_gallery_lists_both_videos_and_one_plays(server: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server["base"] + "/")
    cards = browser.find_elements(By.CSS_SELECTOR, ".video-card")
    assert len(cards) == 2
    assert any("Coffee" in c.text for c in cards) and all("creative [" in c.text for c in cards)
    can = browser.execute_script("return document.createElement('video').canPlayType("
                                 "'video/mp4; codecs=\"avc1.64001F, mp4a.40.2\"')")  # fmt: skip
    assert can in ("probably", "maybe"), f"this chromium cannot play H.264: {can!r}"
    video = cards[0].find_element(By.TAG_NAME, "video")
    browser.execute_script("arguments[0].play();", video)
    assert _wait(lambda: browser.execute_script("return arguments[0].currentTime;", video) > 0.5)
    assert browser.execute_script("return arguments[0].error;", video) is None
    assert browser.execute_script("return arguments[0].videoWidth;", video) == 360


def test_a_run_page_shows_its_rounds_findings_and_tool_timings(server: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server["base"] + "/")
    browser.find_elements(By.LINK_TEXT, "run: plans, critique, timings")[0].click()
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "section.round"))
    rounds = browser.find_elements(By.CSS_SELECTOR, "section.round")
    assert rounds[0].find_element(By.TAG_NAME, "h2").text.startswith("Round 0")
    for heading in ("Visual plan", "Audio plan", "Effect plan", "Critic"):
        assert heading in rounds[0].text
    measurements = rounds[0].find_element(By.CSS_SELECTOR, "table.measurements").text
    assert "duration_s 12.0" in measurements
    assert "accepted" in browser.find_element(By.ID, "accepted").text
    assert "speech" in browser.find_element(By.ID, "tools").text


def test_hostile_meta_is_shown_as_text(server: dict[str, Any], browser: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    browser.get(f"{server['base']}/runs/{server['hostile']}")
    assert browser.find_element(By.ID, "product").text == HOSTILE["product"]
    assert browser.find_element(By.ID, "brand").text == HOSTILE["brand"]
    points = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#selling-points div")]
    assert SCRIPT in points  # shown as the characters it is made of
    assert browser.title != "pwned" and not browser.find_elements(By.CSS_SELECTOR, "#selling-points b")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    assert "&lt;script&gt;" in browser.page_source


def test_try_a_user_ranks_and_serves_with_a_hit_level(server: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server["base"] + "/try")
    box = browser.find_element(By.ID, "user")
    assert json.loads(box.get_attribute("value"))["history"]  # the example user, ready to send
    browser.find_element(By.ID, "submit").click()
    _wait(lambda: browser.find_elements(By.ID, "ranking"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#ranking tr")
    assert len(rows) == 11  # a header and the top 10
    assert browser.find_element(By.ID, "hit").text in ("exact", "creative_miss", "content_miss", "empty")
    browser.get(server["base"] + "/queue")
    assert "done" in browser.find_element(By.ID, "counts").text
