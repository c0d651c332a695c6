"""Streaming equals offline: codes identical, audio within 1e-5, for any chunking."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rvqgan.quantize.ema import EMAVectorQuantizer
from rvqgan.streaming import StreamingSession
from tests.streaming.helpers import (
    LAYOUTS,
    causal_codec,
    chunk_sizes,
    relative_error,
    signal,
    stream_decode,
    stream_encode,
)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("rule", ["1", "hop", "hop+1", "random"])
def test_streamed_codes_equal_offline_codes(layout: str, rule: str) -> None:
    model = causal_codec(layout)
    hop = model.hop_length
    length = (3 if rule == "1" else 7) * hop + 37
    audio = signal(2, 1, length, seed=1)
    sizes = chunk_sizes(length, rule, hop, seed=2)
    codes, per_call = stream_encode(StreamingSession(model, 2), audio, sizes)
    assert torch.equal(codes, model.encode(audio))
    # A frame comes out exactly when its last sample has gone in: N samples -> N // hop frames.
    fed = torch.tensor(sizes).cumsum(0)
    assert torch.tensor(per_call[:-1]).cumsum(0).tolist() == (fed // hop).tolist()
    assert per_call[-1] == 1  # the flush codes the zero-padded partial last frame


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("rule", ["1", "random"])
def test_streamed_audio_equals_offline_audio(layout: str, rule: str) -> None:
    model = causal_codec(layout)
    gen = torch.Generator().manual_seed(3)
    codes = torch.randint(0, model.codebook_size, (2, model.n_codebooks, 11), generator=gen)
    sizes = [1] * 11 if rule == "1" else [0, 2, 1, 0, 5, 3]
    audio = stream_decode(StreamingSession(model, 2), codes, sizes)
    reference = model.decode(codes)
    assert audio.shape == reference.shape == (2, 1, 11 * model.hop_length)
    assert relative_error(audio, reference) < 1e-5
    assert float((audio - reference).abs().max()) < 1e-5


def test_loopback_returns_the_offline_round_trip_at_the_input_length() -> None:
    model = causal_codec()
    hop, length = model.hop_length, 5 * model.hop_length + 100
    audio = signal(1, 2, length, seed=4)
    pieces, pos = [], 0
    with model.streaming(batch_size=1, channels=2):
        for n in chunk_sizes(length, "random", hop, seed=5):
            pieces.append(model.decode_step(model.encode_step(audio[..., pos : pos + n])))
            pos += n
        tail = model.flush()
    out = torch.cat([*pieces, tail.audio], dim=-1)
    reference = model.decode(model.encode(audio.reshape(2, 1, length))).reshape(1, 2, -1)[..., :length]
    assert out.shape == (1, 2, length) and tail.audio.shape == (1, 2, 100)
    assert relative_error(out, reference) < 1e-5


@pytest.mark.parametrize("n", [1, 2, 3])
def test_n_quantizers_is_honoured_as_offline(n: int) -> None:
    model = causal_codec()
    length = 6 * model.hop_length + 5
    audio = signal(1, 1, length, seed=6)
    codes, _ = stream_encode(StreamingSession(model, 1, n_quantizers=n), audio, chunk_sizes(length, "random", 512))
    assert codes.shape[1] == n
    assert torch.equal(codes, model.encode(audio, n))
    assert torch.equal(codes, model.encode(audio)[:, :n])
    decoded = stream_decode(StreamingSession(model, 1), codes, [2, 0, 5])
    assert relative_error(decoded, model.decode(codes)) < 1e-5


def test_channels_are_coded_as_mono_rows_in_item_order() -> None:
    model = causal_codec()
    length = 4 * model.hop_length + 9
    audio = signal(2, 3, length, seed=7)
    codes, _ = stream_encode(StreamingSession(model, 2, channels=3), audio, chunk_sizes(length, "random", 512))
    assert codes.shape[0] == 6
    assert torch.equal(codes, model.encode(audio.reshape(6, 1, length)))
    decoded = StreamingSession(model, 2, channels=3).decode_step(codes)
    assert decoded.shape == (2, 3, codes.shape[-1] * model.hop_length)
    assert relative_error(decoded, model.decode(codes).reshape(2, 3, -1)) < 1e-5


def test_relu_activation_streams_equal() -> None:
    model = causal_codec(activation="relu")
    length = 5 * model.hop_length + 3
    audio = signal(1, 1, length, seed=8)
    codes, _ = stream_encode(StreamingSession(model), audio, chunk_sizes(length, "random", 512))
    assert torch.equal(codes, model.encode(audio))
    assert relative_error(stream_decode(StreamingSession(model), codes, [1] * 6), model.decode(codes)) < 1e-5


def test_ema_codebooks_keep_their_own_lookup() -> None:
    model = causal_codec()
    config = model.config
    torch.manual_seed(9)
    model.quantizer.quantizers = nn.ModuleList(
        EMAVectorQuantizer(config.latent_channels, config.codebook_size, config.codebook_dim)
        for _ in range(config.n_codebooks)
    ).eval()
    length = 5 * model.hop_length + 3
    audio = signal(1, 1, length, seed=10)
    codes, _ = stream_encode(StreamingSession(model), audio, chunk_sizes(length, "random", 512))
    assert torch.equal(codes, model.encode(audio))


def test_float64_model_streams_equal() -> None:
    model = causal_codec().double()
    length = 3 * model.hop_length + 1
    audio = signal(1, 1, length, seed=11).double()
    codes, _ = stream_encode(StreamingSession(model), audio, chunk_sizes(length, "hop+1", 512))
    assert torch.equal(codes, model.encode(audio))
    decoded = stream_decode(StreamingSession(model), codes, [1, 3])
    assert decoded.dtype == torch.float64
    assert relative_error(decoded, model.decode(codes)) < 1e-12
