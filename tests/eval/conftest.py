"""Fixtures of the evaluation tests: the real clip as mono, and skips for missing tools."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REAL_CLIP

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None,
    reason="ffmpeg (with libopus and libmp3lame) is not installed: apt-get install ffmpeg",
)


@pytest.fixture(scope="session")
def piano() -> tuple[np.ndarray, int]:
    """The real test recording, channels averaged: float32 (T,) and its rate (44.1 kHz)."""
    data, rate = sf.read(REAL_CLIP, dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.mean(axis=1)), rate
