"""Discriminators: layout, shapes, finiteness, gradient flow, input checks."""

from __future__ import annotations

import math

import pytest
import torch

from rvqgan.discriminators import (
    BandSTFTDiscriminator,
    Discriminator,
    DiscriminatorConfig,
    MSSTFTScaleDiscriminator,
    PeriodDiscriminator,
    build_discriminator,
    stride_matched_stft,
)
from rvqgan.errors import ConfigError, InputError

T = 8192
TINY_MPD = (2, 4, 8, 8, 8)


def tiny_config(**changes) -> DiscriminatorConfig:
    base = {"mpd_channels": TINY_MPD, "channels": 4}
    base.update(changes)
    return DiscriminatorConfig(**base)


def audio(batch: int = 2, length: int = T, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return 0.3 * torch.randn(batch, 1, length, generator=gen)


def test_default_layout_matches_official_names_and_size():
    disc = build_discriminator(DiscriminatorConfig())
    assert disc.names == ["mpd_2", "mpd_3", "mpd_5", "mpd_7", "mpd_11", "mrd_2048", "mrd_1024", "mrd_512"]
    n_params = sum(p.numel() for p in disc.parameters())
    # 5 x 8,221,154 (periods) + 3 x 471,330 (multi-band STFT) at the official widths.
    assert n_params == 5 * 8_221_154 + 3 * 471_330 == 42_519_760
    keys = set(disc.state_dict())
    # The official Discriminator's (torch weight_norm) parameter names.
    for key in (
        "discriminators.0.convs.0.0.weight_g",
        "discriminators.0.convs.4.0.weight_v",
        "discriminators.4.conv_post.bias",
        "discriminators.5.band_convs.0.0.0.weight_v",
        "discriminators.7.band_convs.4.4.0.weight_g",
        "discriminators.7.conv_post.weight_g",
    ):
        assert key in keys
    assert len(keys) == 5 * 6 * 3 + 3 * (5 * 5 + 1) * 3  # (g, v, bias) per conv; windows are not stored
    assert disc.discriminators[0].convs[0][0].weight_g.shape == (32, 1, 1, 1)


def test_period_discriminator_shapes():
    disc = PeriodDiscriminator(5, TINY_MPD)
    x = audio(length=T)  # T % 5 == 2 -> pad 3
    logits, feats = disc(x)
    rows = (T + 3) // 5
    assert len(feats) == 5
    for feat, ch in zip(feats, TINY_MPD):
        assert feat.shape[:2] == (2, ch) and feat.shape[-1] == 5
    expected = rows
    for _ in range(4):
        expected = math.floor((expected + 4 - 5) / 3) + 1
    assert logits.shape == (2, 1, expected, 5)
    # Official quirk: a length already a multiple of p is padded by a whole period.
    assert disc.fold(audio(length=10)).shape == (2, 1, 3, 5)


@pytest.mark.parametrize("length", [8192, 8000, 8193])
def test_stride_matched_stft_frame_count(length):
    window = torch.hann_window(512)
    spec = stride_matched_stft(audio(1, length), window, 128)
    assert spec.shape == (1, 257, math.ceil(length / 128))


def test_band_stft_discriminator_shapes_and_bands():
    disc = BandSTFTDiscriminator(512, channels=4)
    assert disc.bands == [(0, 25), (25, 64), (64, 128), (128, 192), (192, 257)]
    logits, feats = disc(audio())
    frames = T // 128
    assert len(feats) == 25
    assert feats[0].shape == (2, 4, frames, 25)  # first band, first conv keeps the bins
    assert feats[4].shape == (2, 4, frames, 4)  # 25 -> 13 -> 7 -> 4 after three stride-2 convs
    band_out = [math.ceil(math.ceil(math.ceil((hi - lo) / 2) / 2) / 2) for lo, hi in disc.bands]
    assert logits.shape == (2, 1, frames, sum(band_out))
    # Real and imaginary parts are the two input channels.
    bands = disc.spectrogram(audio())
    assert [b.shape[1] for b in bands] == [2] * 5 and bands[0].shape[2] == frames


def test_msstft_scale_shapes():
    disc = MSSTFTScaleDiscriminator(512, channels=4)
    logits, feats = disc(audio())
    frames = 1 + (T - 512) // 128
    assert len(feats) == 5
    assert feats[0].shape == (2, 4, frames, 257)
    assert logits.shape == (2, 1, frames, 33)  # 257 -> 129 -> 65 -> 33


def test_all_sub_discriminators_finite_and_gradients_reach_every_parameter():
    torch.manual_seed(0)
    disc = build_discriminator(
        tiny_config(
            use_melgan=True, melgan_scales=2, use_msstft=True, msstft_windows=(512, 128), stft_windows=(512, 256)
        )
    )
    assert disc.names == [
        "mpd_2",
        "mpd_3",
        "mpd_5",
        "mpd_7",
        "mpd_11",
        "melgan_0",
        "melgan_1",
        "mrd_512",
        "mrd_256",
        "msstft_512",
        "msstft_128",
    ]
    out = disc(audio(length=4096))
    assert len(out) == len(disc.names)
    total = 0.0
    for logits, feats in out:
        assert logits.shape[:2] == (2, 1)
        assert torch.isfinite(logits).all() and all(torch.isfinite(f).all() for f in feats)
        total = total + logits.mean() + sum(f.mean() for f in feats)
    total.backward()
    missing = [n for n, p in disc.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_normalize_input_makes_output_gain_and_dc_invariant():
    disc = build_discriminator(tiny_config(periods=(2,), stft_windows=(512,)))
    x = audio(1)
    with torch.no_grad():
        a = disc(x)
        b = disc(3.0 * x + 0.1)
    for (la, _), (lb, _) in zip(a, b):
        torch.testing.assert_close(la, lb, rtol=1e-4, atol=1e-5)
    raw = build_discriminator(tiny_config(periods=(2,), stft_windows=(512,), normalize_input=False))
    raw.load_state_dict(disc.state_dict())
    with torch.no_grad():
        assert not torch.allclose(raw(x)[0][0], raw(3.0 * x)[0][0])


def test_input_checks():
    disc = build_discriminator(tiny_config(periods=(2,), stft_windows=(2048,)))
    with pytest.raises(InputError, match="shape"):
        disc(torch.zeros(2, 2, T))
    with pytest.raises(InputError, match="at least"):
        disc(torch.zeros(1, 1, disc.min_length - 1))


@pytest.mark.parametrize(
    "changes",
    [
        {"periods": (), "stft_windows": ()},
        {"bands": (0.0, 0.5, 0.4, 1.0)},
        {"bands": (0.0, 0.001, 1.0)},  # empty first band at every window
        {"stft_windows": (510,)},
        {"mpd_channels": (1, 2)},
    ],
)
def test_config_rejects_impossible_values(changes):
    with pytest.raises(ConfigError):
        DiscriminatorConfig(**changes)


def test_discriminator_is_a_module_with_config():
    disc = Discriminator(tiny_config())
    assert isinstance(disc, torch.nn.Module) and disc.config.channels == 4
