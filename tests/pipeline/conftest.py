"""Fixtures of the data-pipeline tests: small real and synthetic audio folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

PIANO = Path(__file__).parents[1] / "data" / "ambi_piano.flac"


@pytest.fixture(scope="session")
def piano() -> tuple[np.ndarray, int]:
    audio, rate = sf.read(PIANO, dtype="float32")
    return audio.mean(axis=1), rate


@pytest.fixture(scope="session")
def audio_tree(tmp_path_factory, piano) -> Path:
    """speech/ (a 48 kHz file and an unreadable one), music/ (two 44.1 kHz files, nested)."""
    audio, rate = piano
    root = tmp_path_factory.mktemp("tree")
    (root / "speech").mkdir()
    (root / "music" / "nested").mkdir(parents=True)
    sf.write(root / "speech" / "voice48k.flac", audio[: rate // 2], 48000)
    (root / "speech" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (root / "speech" / "notes.txt").write_text("not audio")
    sf.write(root / "music" / "a.wav", audio[:rate], rate)
    sf.write(root / "music" / "nested" / "b.flac", audio[rate:], rate)
    return root
