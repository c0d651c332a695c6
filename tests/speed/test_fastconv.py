"""Winograd F(m, 7) for the residual units' k7 convolutions (rvqgan.nn.fastconv)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F

from rvqgan.model import PRESETS, Codec
from rvqgan.nn import ResidualUnit, fastconv, fold_weight_norm, tiled
from tests.conftest import randomize, tiny_config

DILATIONS = (1, 3, 9)


@pytest.mark.parametrize("m", sorted(fastconv.POINTS))
def test_transforms_exact_in_rationals(m: int) -> None:
    """A^T ((G g) * (B^T d)) is the correlation, exactly, for integer d and g."""
    at, g, bt = fastconv.toom_cook(m, 7)
    n = m + 6
    gen = torch.Generator().manual_seed(m)
    for _ in range(3):
        d = [Fraction(int(v)) for v in torch.randint(-50, 51, (n,), generator=gen)]
        w = [Fraction(int(v)) for v in torch.randint(-50, 51, (7,), generator=gen)]
        gw = [sum(g[i][k] * w[k] for k in range(7)) for i in range(n)]
        bd = [sum(bt[i][k] * d[k] for k in range(n)) for i in range(n)]
        y = [sum(at[r][i] * gw[i] * bd[i] for i in range(n)) for r in range(m)]
        assert y == [sum(d[r + k] * w[k] for k in range(7)) for r in range(m)]


@pytest.mark.parametrize("m", sorted(fastconv.POINTS))
def test_transforms_match_direct_convolution_float64(m: int) -> None:
    """The float64 matrices on integer inputs, channels and all, agree with conv1d to rounding."""
    at, g, bt = fastconv.matrices(m)
    n = m + 6
    gen = torch.Generator().manual_seed(10 + m)
    c_in, c_out, blocks = 5, 3, 4
    d = torch.randint(-20, 21, (blocks * m + 6, c_in), generator=gen).double()
    taps = torch.randint(-20, 21, (7, c_in, c_out), generator=gen).double()
    u = torch.tensordot(g, taps, dims=([1], [0]))  # (n, C_in, C_out)
    windows = d.unfold(0, n, m)  # (J, C_in, n)
    v = torch.einsum("ir,jcr->ijc", bt, windows)
    y = torch.einsum("ri,ijo->jro", at, torch.einsum("ijc,ico->ijo", v, u)).reshape(blocks * m, c_out)
    reference = F.conv1d(d.t()[None], taps.permute(2, 1, 0))[0].t()
    assert torch.allclose(y, reference, rtol=0, atol=1e-9 * reference.abs().max())
    assert torch.equal(y.round(), reference)


def test_filter_is_cached_and_follows_the_weight() -> None:
    layer = ResidualUnit(96, 3).eval().conv1
    fold_weight_norm(layer)
    u = fastconv.layer_filter(layer, 4)
    assert fastconv.layer_filter(layer, 4) is u
    with torch.no_grad():
        layer.weight.mul_(2)
    u2 = fastconv.layer_filter(layer, 4)
    assert u2 is not u and torch.allclose(u2, 2 * u)


def _unit(channels: int, dilation: int, causal: bool = False, fold: bool = True) -> ResidualUnit:
    torch.manual_seed(channels + dilation)
    unit = ResidualUnit(channels, dilation, causal=causal).eval()
    with torch.no_grad():
        unit.act1.alpha.uniform_(0.5, 1.5)
        unit.act2.alpha.uniform_(0.5, 1.5)
        unit.conv1.bias.normal_(0, 0.05)
    return fold_weight_norm(unit) if fold else unit


def _real_signal(real_clip, channels: int, length: int) -> torch.Tensor:
    """A (T, C) signal from the real recording: C delayed, mixed copies (audio-like in time)."""
    audio = torch.from_numpy(real_clip[0][0]).float()
    start = audio.abs().argmax().item() // 2
    clip = audio[start : start + length + channels * 7]
    frames = clip.unfold(0, length, 7)[:channels].t()  # (T, C): delays of 7 samples
    mix = torch.randn(channels, channels, generator=torch.Generator().manual_seed(0)) / channels**0.5
    return (frames @ mix).contiguous() * 3


# Widths of the residual units in the presets that take the Winograd path.
PRESET_WIDTHS = sorted(
    {
        c
        for cfg in PRESETS.values()
        for c in [cfg.encoder_dim * 2**i for i in range(len(cfg.encoder_rates))]
        + [cfg.decoder_dim // 2 ** (i + 1) for i in range(len(cfg.decoder_rates))]
        if c >= fastconv.WINOGRAD_MIN_CHANNELS
    }
)


@pytest.mark.parametrize("dilation", DILATIONS)
@pytest.mark.parametrize("channels", PRESET_WIDTHS)
@torch.no_grad()
def test_layer_error_float32(channels: int, dilation: int, real_clip) -> None:
    """Per layer, Winograd F(4, 7) in float32 vs the float64 convolution: < 1e-5 of the output's peak."""
    layer = _unit(channels, dilation).conv1
    x = _real_signal(real_clip, channels, 1536)
    u = fastconv.layer_filter(layer, fastconv.WINOGRAD_M)
    m, d = fastconv.WINOGRAD_M, dilation
    blocks = 1536 // (m * d)
    rows = blocks * m * d
    win = F.pad(x[:rows].t(), (3 * d, 3 * d)).t().contiguous()
    out = fastconv.winograd_tile(win, u, layer.bias, m, d, blocks, fastconv.Workspace(), False)
    out = out.view(m, blocks, d, channels).transpose(0, 1).reshape(rows, channels)
    truth = F.conv1d(x[:rows].t().double()[None], layer.weight.double(), layer.bias.double(), padding=3 * d, dilation=d)
    truth = truth[0].t()
    direct = F.conv1d(x[:rows].t()[None], layer.weight, layer.bias, padding=3 * d, dilation=d)[0].t()
    scale = truth.abs().max()
    error = (out.double() - truth).abs().max() / scale
    assert error < 1e-5, error
    # For scale: the float32 direct convolution's own error is ~1e-6 here.
    assert (direct.double() - truth).abs().max() / scale < 5e-6


@pytest.mark.parametrize("several_threads", [False, True])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("dilation", DILATIONS)
def test_residual_unit_matches_module(dilation: int, causal: bool, several_threads: bool, monkeypatch) -> None:
    """The whole unit on the Winograd path, tiles of a few blocks and a ragged last tile."""
    monkeypatch.setattr(tiled, "WINOGRAD_PRODUCT_ROWS", 40)
    monkeypatch.setattr(tiled, "parallel", lambda: several_threads)
    for fold in (True, False):
        unit = _unit(96, dilation, causal, fold)
        x = 0.5 * torch.randn(1000 + dilation, 96)
        assert fastconv.winograd_size(unit.conv1) == fastconv.WINOGRAD_M
        with torch.no_grad():
            reference = unit(x.t()[None])[0].t()
            out = tiled.residual_unit(x, unit, fast=True)
            direct = tiled.residual_unit(x, unit, fast=False)
        scale = reference.abs().max()
        assert (direct - reference).abs().max() <= 2e-6 * scale
        assert (out - reference).abs().max() <= 1e-5 * scale


def test_narrow_layers_keep_the_direct_path() -> None:
    assert fastconv.winograd_size(_unit(64, 3).conv1) is None
    assert fastconv.winograd_size(_unit(96, 3).conv1) == fastconv.WINOGRAD_M
    assert fastconv.winograd_size(Codec(tiny_config()).encoder.conv_in) is None


@pytest.mark.parametrize("several_threads", [False, True])
@pytest.mark.parametrize("layout", [{}, {"causal": True}])
def test_model_codes_unchanged(layout: dict, several_threads: bool, real_clip, monkeypatch) -> None:
    """A model whose every residual unit takes the Winograd path: same codes, audio within 1e-5."""
    monkeypatch.setattr(fastconv, "WINOGRAD_MIN_CHANNELS", 1)
    monkeypatch.setattr(tiled, "WINOGRAD_PRODUCT_ROWS", 64)
    monkeypatch.setattr(tiled, "parallel", lambda: several_threads)
    torch.manual_seed(0)
    model = fold_weight_norm(randomize(Codec(tiny_config(**layout))).eval())
    audio = torch.from_numpy(real_clip[0][:1, : 20 * model.hop_length + 77])[None]
    codes = model.encode(audio)
    assert any(fastconv._FILTERS.get(u.conv1) for u in model.modules() if isinstance(u, ResidualUnit))
    decoded = model.decode(codes)
    monkeypatch.setattr(tiled, "FAST_CONV", False)
    assert torch.equal(model.encode(audio), codes)
    direct = model.decode(codes)
    model.encoder.tiled_inference = model.decoder.tiled_inference = False
    assert torch.equal(model.encode(audio), codes)
    reference = model.decode(codes)
    assert (direct - reference).abs().max() <= 1e-5 * reference.abs().max()
    assert (decoded - reference).abs().max() <= 1e-5 * reference.abs().max()
