"""Fixtures of the training tests: a tiny cache cut from the test recording."""

from __future__ import annotations

from pathlib import Path

import pytest

from rvqgan.data import SourceFile, prepare_cache
from tests.train.helpers import PIANO


@pytest.fixture(scope="session")
def piano_cache(tmp_path_factory) -> Path:
    """A cache of the test recording cut in two files, two domains, one full-band."""
    import soundfile as sf

    root = tmp_path_factory.mktemp("cache")
    audio, rate = sf.read(PIANO, dtype="float32")
    half = len(audio) // 2
    sf.write(root / "a.wav", audio[:half], rate)
    sf.write(root / "b.wav", audio[half:], rate)
    files = [SourceFile(str(root / "a.wav"), "music", True), SourceFile(str(root / "b.wav"), "speech")]
    prepare_cache(files, root / "cache", 44100)
    return root / "cache"
