"""The mel filter bank equals librosa's (Slaney scale, Slaney norm), via transformers' port."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rvqgan.losses import hz_to_mel, mel_filterbank, mel_to_hz


@pytest.mark.parametrize(
    "sample_rate,window,n_mels",
    [(44100, 32, 5), (44100, 512, 80), (44100, 2048, 320), (24000, 128, 20), (16000, 1024, 160)],
)
def test_matches_librosa_slaney_filters(sample_rate, window, n_mels):
    audio_utils = pytest.importorskip("transformers.audio_utils")
    ref = audio_utils.mel_filter_bank(
        window // 2 + 1, n_mels, 0.0, sample_rate / 2, sample_rate, norm="slaney", mel_scale="slaney"
    ).T
    ours = mel_filterbank(sample_rate, window, n_mels).numpy()
    assert ours.shape == (n_mels, window // 2 + 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-9)


def test_htk_unnormalized_option_matches_reference():
    audio_utils = pytest.importorskip("transformers.audio_utils")
    ref = audio_utils.mel_filter_bank(257, 64, 20.0, 8000.0, 24000, norm=None, mel_scale="htk").T
    np.testing.assert_allclose(
        mel_filterbank(24000, 512, 64, 20.0, 8000.0, htk=True, slaney_norm=False).numpy(), ref, rtol=1e-5, atol=1e-9
    )


@pytest.mark.parametrize("htk", [False, True])
def test_mel_scale_round_trip(htk):
    hz = torch.tensor([0.0, 500.0, 1000.0, 4000.0, 22050.0], dtype=torch.float64)
    torch.testing.assert_close(mel_to_hz(hz_to_mel(hz, htk), htk), hz)
    # Slaney: 1 kHz is mel 15 and the scale is linear below it.
    if not htk:
        assert hz_to_mel(torch.tensor([1000.0, 500.0])).tolist() == pytest.approx([15.0, 7.5])
