"""Mel and STFT losses: paper configuration, zero on equal inputs, ordering, buffers built once."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rvqgan.errors import ConfigError, InputError
from rvqgan.losses import MelLoss, STFTLoss, empty_filters, mel_filterbank, spectral

SR = 44100
T = 8192


def signal(batch: int = 2, seed: int = 0) -> torch.Tensor:
    """Harmonic tones plus a little noise: a spectrum with structure at every scale."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(T) / SR
    f0 = 110.0 * (1 + torch.arange(batch)).reshape(batch, 1, 1)
    x = sum(torch.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
    return 0.2 * x + 0.01 * torch.randn(batch, 1, T, generator=gen)


def noise_like(x: torch.Tensor, seed: int = 1) -> torch.Tensor:
    return torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))


def test_mel_loss_has_the_paper_configuration():
    loss = MelLoss(SR)
    assert loss.windows == (32, 64, 128, 256, 512, 1024, 2048)
    assert loss.n_mels == (5, 10, 20, 40, 80, 160, 320)
    assert loss.hop_lengths == (8, 16, 32, 64, 128, 256, 512)
    assert (loss.clamp_eps, loss.pow, loss.mag_weight, loss.log_weight) == (1e-5, 1.0, 0.0, 1.0)
    assert loss.mel_basis_0.shape == (5, 17) and loss.mel_basis_6.shape == (320, 1025)
    # Buffers are rebuilt from the config, never stored in a checkpoint.
    assert loss.state_dict() == {}


def test_stft_loss_has_the_official_configuration():
    loss = STFTLoss()
    assert loss.windows == (2048, 512) and loss.hop_lengths == (512, 128)
    assert (loss.clamp_eps, loss.pow, loss.mag_weight, loss.log_weight) == (1e-5, 2.0, 1.0, 1.0)


@pytest.mark.parametrize(
    "make", [lambda: MelLoss(SR), lambda: STFTLoss(), lambda: MelLoss(SR, mag_weight=1.0, pow=2.0)]
)
def test_zero_on_identical_inputs_and_ordered_by_noise(make):
    loss = make()
    x = signal()
    noise = noise_like(x)
    assert loss(x, x).item() == 0.0
    values = [loss(x + level * noise, x).item() for level in (0.001, 0.01, 0.1)]
    assert 0 < values[0] < values[1] < values[2]


def test_mel_loss_is_differentiable():
    loss = MelLoss(SR)
    y = signal()
    x = (y + 0.05 * noise_like(y)).requires_grad_(True)
    loss(x, y).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_filter_banks_and_windows_are_built_once(monkeypatch):
    calls = []
    real = spectral.melscale.mel_filterbank

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(spectral.melscale, "mel_filterbank", counting)
    loss = MelLoss(SR)
    assert len(calls) == 7
    buffers = {name: buf for name, buf in loss.named_buffers()}

    def no_window(*args, **kwargs):
        raise AssertionError("a window was rebuilt in forward")

    monkeypatch.setattr(torch, "hann_window", no_window)
    x = signal()
    loss(x + 0.01, x)
    loss(x, x)
    assert len(calls) == 7
    assert all(buf is buffers[name] for name, buf in loss.named_buffers())


def test_one_scale_matches_a_numpy_reference():
    """Framing, window and filters against an independent numpy computation of one scale."""
    loss = MelLoss(SR, windows=(256,), n_mels=(40,))
    y = signal(1)
    x = y + 0.05 * noise_like(y)

    def log_mel(a: torch.Tensor) -> np.ndarray:
        a = np.pad(a.reshape(-1).double().numpy(), 128, mode="reflect")
        window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(256) / 256)  # periodic hann
        frames = np.stack([a[i : i + 256] * window for i in range(0, len(a) - 256 + 1, 64)])
        mag = np.abs(np.fft.rfft(frames, axis=-1)).T  # (129, frames)
        mel = mel_filterbank(SR, 256, 40).double().numpy() @ mag
        return np.log10(np.maximum(mel, 1e-5))

    expected = np.abs(log_mel(x) - log_mel(y)).mean()
    assert loss(x, y).item() == pytest.approx(expected, rel=1e-4)


def test_scales_are_summed_not_averaged():
    y = signal()
    x = y + 0.05 * noise_like(y)
    full = MelLoss(SR)(x, y).item()
    parts = sum(
        MelLoss(SR, windows=(w,), n_mels=(m,))(x, y).item()
        for w, m in zip((32, 64, 128, 256, 512, 1024, 2048), (5, 10, 20, 40, 80, 160, 320))
    )
    assert full == pytest.approx(parts, rel=1e-5)


def test_loss_input_checks():
    loss = MelLoss(SR)
    with pytest.raises(InputError):
        loss(torch.zeros(1, 1, T), torch.zeros(1, 1, T - 1))
    with pytest.raises(InputError, match="at least"):
        loss(torch.zeros(1, 1, 512), torch.zeros(1, 1, 512))
    with pytest.raises(ConfigError):
        MelLoss(SR, windows=(32, 64), n_mels=(5,))


def test_a_reference_analysed_once_gives_the_same_distance_and_gradient():
    loss = MelLoss(SR)
    y = signal()
    x = (y + 0.05 * noise_like(y)).requires_grad_(True)
    reference = loss.spectra(y)
    cached = loss.distance(x, reference)
    direct = loss(x, y)
    assert torch.equal(cached, direct) and cached > 0
    assert torch.equal(torch.autograd.grad(cached, x)[0], torch.autograd.grad(direct, x)[0])
    assert loss.distance(y, reference) == 0


def test_a_reference_of_another_length_or_loss_is_refused():
    loss = MelLoss(SR)
    reference = loss.spectra(signal())
    with pytest.raises(InputError, match="does not match"):
        loss.distance(torch.zeros(2, 1, T + 1024), reference)
    with pytest.raises(InputError, match="reference spectra"):
        loss.distance(signal(), reference[:3])


@pytest.mark.parametrize("sample_rate", [16000, 24000, 44100])
def test_paper_mel_pairs_leave_no_empty_filter(sample_rate):
    for window, n_mels in zip((32, 64, 128, 256, 512, 1024, 2048), (5, 10, 20, 40, 80, 160, 320)):
        assert empty_filters(mel_filterbank(sample_rate, window, n_mels)) == []


def test_fixed_64_mels_at_short_windows_leave_holes():
    """Why the paper scales n_mels with the window: EnCodec's fixed 64 bins at 32 samples."""
    assert len(empty_filters(mel_filterbank(SR, 32, 64))) > 0
