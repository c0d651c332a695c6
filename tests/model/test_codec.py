"""Properties of the generator: shapes, lengths, inference = training forward, bad input."""

from __future__ import annotations

import doctest

import pytest
import torch

import rvqgan.model.codec
from rvqgan.errors import InputError
from rvqgan.model import Codec, preset
from rvqgan.nn import fold_weight_norm
from tests.conftest import randomize, tiny_config


@pytest.mark.parametrize("length", [1, 17, 511, 512, 513, 3000, 5120])
def test_encode_decode_shapes(tiny_model: Codec, length: int) -> None:
    audio = 0.1 * torch.randn(2, 1, length)
    codes = tiny_model.encode(audio)
    frames = -(-length // tiny_model.hop_length)
    assert codes.shape == (2, tiny_model.n_codebooks, frames)
    assert codes.dtype == torch.int64
    assert int(codes.min()) >= 0 and int(codes.max()) < tiny_model.codebook_size
    decoded = tiny_model.decode(codes)
    assert decoded.shape == (2, 1, frames * tiny_model.hop_length)
    assert decoded.shape[-1] == tiny_model.decoded_length(frames)


@pytest.mark.parametrize("length", [1, 700, 2048])
def test_forward_keeps_input_length(length: int) -> None:
    model = Codec(tiny_config()).train()
    out = model(0.1 * torch.randn(3, 1, length))
    assert out.audio.shape == (3, 1, length)
    assert out.codes.shape[0] == 3 and out.codes.shape[-1] == -(-length // model.hop_length)
    assert torch.isfinite(out.commitment_loss) and torch.isfinite(out.codebook_loss)


def test_decode_of_encode_equals_quantized_forward(tiny_model: Codec) -> None:
    audio = 0.2 * torch.randn(2, 1, 4096)
    with torch.no_grad():
        out = tiny_model(audio)
    codes = tiny_model.encode(audio)
    assert torch.equal(codes, out.codes)
    decoded = tiny_model.decode(codes)[..., : audio.shape[-1]]
    torch.testing.assert_close(decoded, out.audio, rtol=0, atol=1e-5)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_n_quantizers_is_honoured(tiny_model: Codec, n: int) -> None:
    audio = 0.2 * torch.randn(1, 1, 2048)
    full = tiny_model.encode(audio)
    codes = tiny_model.encode(audio, n_quantizers=n)
    assert codes.shape[1] == n
    assert torch.equal(codes, full[:, :n])
    with torch.no_grad():
        out = tiny_model(audio, n_quantizers=n)
    assert out.codes.shape[1] == n
    torch.testing.assert_close(tiny_model.decode(codes), out.audio, rtol=0, atol=1e-5)
    assert tiny_model.bitrate(n) == pytest.approx(n * 6 * 44100 / 512)


def test_n_quantizers_is_honoured_in_training_mode() -> None:
    model = Codec(tiny_config(quantizer_dropout=1.0)).train()
    out = model(0.1 * torch.randn(4, 1, 1024), n_quantizers=2)
    assert out.codes.shape[1] == 2
    assert out.n_quantizers.tolist() == [2, 2, 2, 2]


@pytest.mark.parametrize("bad", [0, 5, -1, 2.0, True])
def test_bad_n_quantizers_raise(tiny_model: Codec, bad) -> None:
    with pytest.raises(InputError, match="n_quantizers"):
        tiny_model.encode(torch.zeros(1, 1, 512), n_quantizers=bad)


@pytest.mark.parametrize(
    "audio, message",
    [
        (torch.zeros(1, 2, 512), "shape"),
        (torch.zeros(1, 512), "shape"),
        (torch.zeros(1, 1, 512, dtype=torch.int16), "float"),
        (torch.tensor([[[0.0, float("nan"), 0.0]]]), "NaN"),
        (torch.tensor([[[0.0, float("inf")]]]), "NaN or Inf"),
    ],
)
def test_bad_audio_raises(tiny_model: Codec, audio: torch.Tensor, message: str) -> None:
    with pytest.raises(InputError, match=message):
        tiny_model.encode(audio)


def test_bad_codes_raise(tiny_model: Codec) -> None:
    with pytest.raises(InputError, match="range"):
        tiny_model.decode(torch.full((1, 2, 3), tiny_model.codebook_size))
    with pytest.raises(InputError, match="range"):
        tiny_model.decode(torch.full((1, 2, 3), -1))
    with pytest.raises(InputError, match="codebooks"):
        tiny_model.decode(torch.zeros(1, tiny_model.n_codebooks + 1, 3, dtype=torch.long))
    with pytest.raises(InputError, match="integer"):
        tiny_model.decode(torch.zeros(1, 2, 3))


def test_empty_input_gives_empty_output(tiny_model: Codec) -> None:
    codes = tiny_model.encode(torch.zeros(2, 1, 0))
    assert codes.shape == (2, tiny_model.n_codebooks, 0)
    assert tiny_model.decode(codes).shape == (2, 1, 0)


def test_silence_is_coded(tiny_model: Codec) -> None:
    codes = tiny_model.encode(torch.zeros(1, 1, 4096))
    audio = tiny_model.decode(codes)
    assert torch.isfinite(audio).all()


def test_fold_weight_norm_keeps_outputs(tiny_model: Codec) -> None:
    audio = 0.2 * torch.randn(1, 1, 4096)
    codes = tiny_model.encode(audio)
    decoded = tiny_model.decode(codes)
    fold_weight_norm(tiny_model)
    assert not any(name.endswith(("weight_g", "weight_v")) for name, _ in tiny_model.named_parameters())
    assert torch.equal(tiny_model.encode(audio), codes)
    torch.testing.assert_close(tiny_model.decode(codes), decoded, rtol=0, atol=1e-6)


def test_gradient_reaches_every_generator_parameter() -> None:
    torch.manual_seed(1)
    model = randomize(Codec(tiny_config(quantizer_dropout=0.0))).train()
    out = model(0.2 * torch.randn(2, 1, 2048))
    loss = out.audio.abs().mean() + out.commitment_loss + out.codebook_loss
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert missing == []


@pytest.mark.parametrize(
    "name, params, hop, kbps",
    [("dac_44khz", 76.65, 512, 7.75), ("dac_24khz", 74.71, 320, 24.0), ("dac_16khz", 74.18, 320, 6.0)],
)
def test_official_layouts(name: str, params: float, hop: int, kbps: float) -> None:
    model = Codec(preset(name))
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(params, abs=0.01)
    assert model.hop_length == hop
    assert model.bitrate() / 1000 == pytest.approx(kbps, abs=0.01)


def test_odd_stride_decoded_length_matches_official_layout() -> None:
    model = Codec(tiny_config(encoder_rates=(2, 4, 5, 8), decoder_rates=(8, 5, 4, 2), sample_rate=16000)).eval()
    codes = model.encode(0.1 * torch.randn(1, 1, 3200))
    assert codes.shape[-1] == 10
    assert model.decode(codes).shape[-1] == model.decoded_length(10) == 3200 - 8


def test_causal_layout_keeps_lengths() -> None:
    model = Codec(tiny_config(causal=True, encoder_rates=(2, 4, 5, 8), decoder_rates=(8, 5, 4, 2))).eval()
    codes = model.encode(0.1 * torch.randn(1, 1, 3200))
    assert model.decode(codes).shape[-1] == 3200


def test_docstring_examples_run() -> None:
    result = doctest.testmod(rvqgan.model.codec, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
