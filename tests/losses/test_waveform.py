"""SI-SDR and waveform L1."""

from __future__ import annotations

import pytest
import torch

from rvqgan.errors import InputError
from rvqgan.losses import SISDRLoss, WaveformL1Loss, si_sdr

T = 8192


def reference(batch: int = 3) -> torch.Tensor:
    x = torch.randn(batch, 1, T, generator=torch.Generator().manual_seed(0))
    return x - x.mean(dim=-1, keepdim=True)


def orthogonal_noise(ref: torch.Tensor, snr_db: float, seed: int = 1) -> torch.Tensor:
    """Zero-mean noise orthogonal to ``ref`` with energy ||ref||^2 / 10^(snr/10)."""
    noise = torch.randn(ref.shape, generator=torch.Generator().manual_seed(seed))
    noise = noise - noise.mean(dim=-1, keepdim=True)
    noise = noise - (noise * ref).sum(-1, keepdim=True) / ref.pow(2).sum(-1, keepdim=True) * ref
    target = ref.pow(2).sum(-1, keepdim=True) / 10 ** (snr_db / 10)
    return noise * (target / noise.pow(2).sum(-1, keepdim=True)).sqrt()


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 30.0])
def test_si_sdr_equals_the_snr_of_added_noise(snr_db):
    ref = reference()
    measured = si_sdr(ref + orthogonal_noise(ref, snr_db), ref)
    assert measured.shape == (3,)
    assert torch.allclose(measured, torch.full((3,), snr_db), atol=0.01)


@pytest.mark.parametrize("snr_db", [10.0, 20.0, 30.0])
def test_si_sdr_of_random_noise_at_a_known_snr_is_within_0p1_db(snr_db):
    """Plain random noise: its chance correlation with the reference (~1/sqrt(T)) only
    matters at low SNR, so this holds from 10 dB up at T = 8192."""
    ref = reference()
    noise = torch.randn(ref.shape, generator=torch.Generator().manual_seed(5))
    noise = noise * (ref.pow(2).sum(-1, keepdim=True) / noise.pow(2).sum(-1, keepdim=True) / 10 ** (snr_db / 10)).sqrt()
    assert torch.allclose(si_sdr(ref + noise, ref), torch.full((3,), snr_db), atol=0.1)


def test_si_sdr_is_scale_invariant_and_finite_for_perfect_estimates():
    ref = reference()
    est = ref + orthogonal_noise(ref, 12.0)
    torch.testing.assert_close(si_sdr(0.3 * est, ref), si_sdr(est, ref), atol=1e-3, rtol=0)
    perfect = si_sdr(ref, ref)
    assert torch.isfinite(perfect).all() and (perfect > 80).all()


def test_si_sdr_loss_is_negative_mean_and_ordered():
    ref = reference()
    loss = SISDRLoss()
    values = [loss(ref + orthogonal_noise(ref, snr), ref).item() for snr in (20.0, 10.0, 0.0)]
    assert values == pytest.approx([-20.0, -10.0, 0.0], abs=0.01)
    assert values[0] < values[1] < values[2]
    assert SISDRLoss(clip_min=-15.0)(ref + orthogonal_noise(ref, 20.0), ref).item() == pytest.approx(-15.0)


def test_si_sdr_loss_is_differentiable():
    ref = reference()
    est = (ref + orthogonal_noise(ref, 5.0)).requires_grad_(True)
    SISDRLoss()(est, ref).backward()
    assert torch.isfinite(est.grad).all() and est.grad.abs().sum() > 0


def test_waveform_l1():
    ref = reference()
    loss = WaveformL1Loss()
    assert loss(ref, ref).item() == 0.0
    assert loss(ref + 0.5, ref).item() == pytest.approx(0.5)
    with pytest.raises(InputError):
        loss(ref, ref[..., :-1])
