"""The tiled CPU path of the whole encoder and decoder gives the reference path's results."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from rvqgan.model import Codec
from rvqgan.nn import fold_weight_norm, tiled
from tests.conftest import randomize, tiny_config

LAYOUTS = {
    "44khz": {},
    "16khz_odd_strides": {"sample_rate": 16000, "encoder_rates": (2, 4, 5, 8), "decoder_rates": (8, 5, 4, 2)},
    "causal": {"causal": True},
    "relu": {"activation": "relu"},
}


def _model(layout: str, fold: bool) -> Codec:
    torch.manual_seed(0)
    model = randomize(Codec(tiny_config(**LAYOUTS[layout]))).eval()
    return fold_weight_norm(model) if fold else model


def _set_tiled(model: Codec, on: bool) -> None:
    model.encoder.tiled_inference = model.decoder.tiled_inference = on


@pytest.mark.parametrize("several_threads", [False, True])
@pytest.mark.parametrize("fold", [True, False])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_encode_decode_match_reference(layout: str, fold: bool, several_threads: bool, monkeypatch) -> None:
    monkeypatch.setattr(tiled, "TILE_ELEMENTS", 512)  # several tiles per layer
    monkeypatch.setattr(tiled, "PARALLEL_TILE_ELEMENTS", 1024)
    monkeypatch.setattr(tiled, "MIN_TILE_ROWS", 16)
    monkeypatch.setattr(tiled, "parallel", lambda: several_threads)
    model = _model(layout, fold)
    audio = 0.5 * torch.randn(2, 1, 7 * model.hop_length + 123)
    _set_tiled(model, False)
    with torch.no_grad():
        z_ref = model.encoder(model.pad_to_hop(audio))
    codes_ref = model.encode(audio)
    audio_ref = model.decode(codes_ref)
    _set_tiled(model, True)
    with torch.no_grad():
        z = model.encoder(model.pad_to_hop(audio))
    assert (z - z_ref).abs().max() <= 1e-5 * z_ref.abs().max()
    assert torch.equal(model.encode(audio), codes_ref)
    decoded = model.decode(codes_ref)
    assert decoded.shape == audio_ref.shape
    assert (decoded - audio_ref).abs().max() <= 1e-5 * audio_ref.abs().max()


def test_default_tiles_match_reference() -> None:
    """The shipped tile size on a signal long enough to span tiles in the first layers."""
    model = _model("44khz", True)
    audio = 0.5 * torch.randn(1, 1, 40 * model.hop_length)
    codes = model.encode(audio)
    decoded = model.decode(codes)
    _set_tiled(model, False)
    assert torch.equal(model.encode(audio), codes)
    reference = model.decode(codes)
    assert (decoded - reference).abs().max() <= 1e-5 * reference.abs().max()


def test_training_forward_keeps_the_reference_path() -> None:
    """With autograd on, nothing changes: same output as the reference, gradients flow."""
    model = _model("44khz", False).train()
    audio = 0.5 * torch.randn(2, 1, 4 * model.hop_length)
    torch.manual_seed(1)
    out = model(audio, n_quantizers=2)
    _set_tiled(model, False)
    torch.manual_seed(1)
    ref = model(audio, n_quantizers=2)
    assert torch.equal(out.audio, ref.audio)
    out.audio.abs().mean().backward()
    assert model.encoder.conv_in.weight_v.grad is not None


def test_model_is_not_modified_by_inference() -> None:
    model = _model("44khz", True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    attrs = {n: sorted(vars(m)) for n, m in model.named_modules()}
    model.decode(model.encode(torch.randn(1, 1, 3000)))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert attrs == {n: sorted(vars(m)) for n, m in model.named_modules()}


def test_state_dict_names_unchanged() -> None:
    """The tiled path adds no parameters or buffers; folding gives plain ``weight`` tensors as before."""
    model = _model("44khz", False)
    reference = Codec(dataclasses.replace(model.config))
    assert list(model.state_dict()) == list(reference.state_dict())
    folded = fold_weight_norm(model)
    names = list(folded.state_dict())
    assert "encoder.conv_in.weight" in names and not any(n.endswith(("weight_g", "weight_v")) for n in names)
