"""Widening a trained encoder: the same outputs, the new channels trainable, bad requests refused."""

from __future__ import annotations

import pytest
import torch

from rvqgan.checkpoint import load_model_file, read_checkpoint_info, save_model
from rvqgan.errors import ConfigError
from rvqgan.model import Codec
from rvqgan.model.widen import widen_encoder
from rvqgan.nn import fold_weight_norm
from tests.conftest import randomize, tiny_config


@pytest.fixture
def trained() -> Codec:
    torch.manual_seed(3)
    return randomize(Codec(tiny_config()), seed=3).eval()


@pytest.mark.parametrize("dim", [4, 6, 8])
def test_widened_model_computes_the_same(trained: Codec, dim: int) -> None:
    wide = widen_encoder(trained, dim, seed=1).eval()
    assert wide.config.encoder_dim == dim and wide.config.latent_channels == trained.config.latent_channels
    audio = 0.3 * torch.randn(2, 1, 5000)
    with torch.no_grad():
        z, z_wide = trained.encoder(audio), wide.encoder(audio)
        assert torch.allclose(z, z_wide, atol=1e-5, rtol=1e-5)
        codes = trained.encode(audio)
        assert torch.equal(codes, wide.encode(audio))
        assert torch.equal(trained.decode(codes), wide.decode(codes))  # decoder copied as is
    if dim > 4:  # the added channels are not idle: the widened encoder has more parameters
        assert sum(p.numel() for p in wide.encoder.parameters()) > sum(p.numel() for p in trained.encoder.parameters())


def test_widening_leaves_the_input_model_alone(trained: Codec) -> None:
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    widen_encoder(trained, 8)
    assert all(torch.equal(before[k], v) for k, v in trained.state_dict().items())


def test_gradient_reaches_the_added_channels(trained: Codec) -> None:
    wide = widen_encoder(trained, 8, seed=2).train()
    out = wide(0.3 * torch.randn(2, 1, 4096))
    out.audio.pow(2).mean().add(out.commitment_loss).backward()
    out_conv, in_conv = wide.encoder.conv_out, wide.encoder.conv_in
    old_in = trained.encoder.conv_out.in_channels
    old_out = trained.encoder.conv_in.out_channels
    # The zero weights that read the added channels move at the first step...
    assert out_conv.weight_v.grad[:, old_in:].abs().sum() > 0
    # ...while nothing downstream reads the added channels yet: the weights that make
    # them get no gradient until then (the widened model computes the old function).
    assert in_conv.weight_v.grad[old_out:].abs().sum() == 0
    assert in_conv.weight_v.grad[:old_out].abs().sum() > 0


def test_seed_fixes_the_added_channels(trained: Codec) -> None:
    a, b, c = (widen_encoder(trained, 8, seed=s).state_dict() for s in (5, 5, 6))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_narrower_or_folded_is_refused(trained: Codec) -> None:
    with pytest.raises(ConfigError, match="narrower"):
        widen_encoder(trained, 2)
    with pytest.raises(ConfigError, match="folded"):
        widen_encoder(fold_weight_norm(trained), 8)


def test_widened_model_saves_and_loads(trained: Codec, tmp_path) -> None:
    wide = widen_encoder(trained, 8)
    save_model(wide, tmp_path / "wide.safetensors", name="wide")
    assert read_checkpoint_info(tmp_path / "wide.safetensors")["config"]["encoder_dim"] == 8
    loaded = load_model_file(tmp_path / "wide.safetensors").eval()
    audio = 0.3 * torch.randn(1, 1, 3000)
    with torch.no_grad():
        assert torch.equal(loaded.encode(audio), trained.encode(audio))
