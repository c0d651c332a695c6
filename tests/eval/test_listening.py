"""The listening page: structure, seeded order, the anchor, and a real browser session."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from rvqgan.errors import InputError
from rvqgan.eval.listening import ANCHOR, HIDDEN_REFERENCE, Trial, build_listening_page, lowpass, trial_order

RATE = 44100


def _tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _trials(piano) -> list[Trial]:
    audio, _ = piano
    clips = [audio[:RATE], audio[RATE : 2 * RATE]]
    return [Trial(f"clip{i}", ref, [("opus 6kbps", 0.5 * ref), ("model q9", 0.9 * ref)]) for i, ref in enumerate(clips)]


def _page_data(path: Path) -> list[dict]:
    match = re.search(r'<script type="application/json" id="trials">(.*?)</script>', path.read_text(), re.DOTALL)
    return json.loads(match.group(1))


def test_anchor_is_a_3500_hz_lowpass():
    passed = lowpass(_tone(1000), RATE)
    stopped = lowpass(_tone(8000), RATE)
    assert np.abs(passed - _tone(1000)).max() < 1e-4
    assert 20 * np.log10(np.abs(stopped).max() / 0.3) < -60


def test_page_has_hidden_reference_anchor_and_seeded_order(tmp_path, piano):
    path = build_listening_page(_trials(piano), RATE, tmp_path / "index.html", seed=7, seconds=0.5)
    data = _page_data(path)
    assert [d["clip"] for d in data] == ["clip0", "clip1"]
    for index, trial in enumerate(data):
        names = [c["name"] for c in trial["conditions"]]
        assert sorted(names) == sorted(["opus 6kbps", "model q9", HIDDEN_REFERENCE, ANCHOR])
        assert names == trial_order(index, ["opus 6kbps", "model q9", HIDDEN_REFERENCE, ANCHOR], 7)
        assert [c["id"] for c in trial["conditions"]] == ["A", "B", "C", "D"]
    text = path.read_text()
    assert text.count('type="range"') == 8 and text.count("data:audio/flac;base64,") == 10  # + 2 open references
    assert "http" not in text  # self-contained
    again = build_listening_page(_trials(piano), RATE, tmp_path / "again.html", seed=7, seconds=0.5)
    assert again.read_text() == text
    with pytest.raises(InputError):
        build_listening_page([Trial("x", _tone(100), [(ANCHOR, _tone(100))])], RATE, tmp_path / "bad.html")


def _browser(download_dir: Path, profile: Path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1000,1000",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(download_dir), "download.prompt_for_download": False}
    )
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


@pytest.mark.skipif(
    shutil.which("chromium") is None or shutil.which("chromedriver") is None,
    reason="headless test needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)
def test_page_in_headless_chromium_rates_and_downloads_csv(tmp_path, piano):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    page = build_listening_page(_trials(piano), RATE, tmp_path / "page" / "index.html", seed=3, seconds=1.0)
    names = {(t, c["id"]): c["name"] for t, trial in enumerate(_page_data(page)) for c in trial["conditions"]}
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = _browser(downloads, tmp_path / "profile")
    try:
        driver.get(page.as_uri())
        # Every embedded FLAC decodes in the browser and lasts the excerpt's length.
        driver.execute_script("document.querySelectorAll('audio').forEach(a => a.load())")
        durations = []
        for _ in range(100):
            durations = driver.execute_script("return [...document.querySelectorAll('audio')].map(a => a.duration)")
            if not any(math.isnan(d) for d in durations):  # NaN until the metadata is read
                break
            time.sleep(0.05)
        assert len(durations) == 10 and all(d == pytest.approx(1.0, abs=0.01) for d in durations)

        hidden = next(cid for (t, cid), name in names.items() if t == 0 and name == HIDDEN_REFERENCE)
        anchor = next(cid for (t, cid), name in names.items() if t == 1 and name == ANCHOR)
        driver.find_element(By.ID, f"rate-0-{hidden}").send_keys(Keys.END)
        driver.find_element(By.ID, f"rate-1-{anchor}").send_keys(Keys.ARROW_RIGHT * 20)
        assert driver.find_element(By.ID, f"value-0-{hidden}").text == "100"
        driver.save_screenshot(str(tmp_path / "listening.png"))
        produced = driver.execute_script("return ratingsCsv()")
        driver.find_element(By.ID, "download").click()
        target = downloads / "ratings.csv"
        for _ in range(100):
            if target.exists() and not list(downloads.glob("*.crdownload")):
                break
            time.sleep(0.05)
        assert target.read_text() == produced
    finally:
        driver.quit()

    rows = list(csv.DictReader(io.StringIO(produced)))
    assert len(rows) == 8
    for row in rows:
        trial = int(row["trial"]) - 1
        assert row["true_name"] == names[(trial, row["condition_id"])]
        expected = {(0, hidden): "100", (1, anchor): "20"}.get((trial, row["condition_id"]), "0")
        assert row["rating"] == expected
    assert (tmp_path / "listening.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
