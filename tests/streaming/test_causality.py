"""Causality: a prefix's output is the prefix of the whole output; the future never changes the past."""

from __future__ import annotations

import pytest
import torch

from rvqgan.streaming import StreamingSession
from tests.streaming.helpers import LAYOUTS, causal_codec, chunk_sizes, signal


@pytest.mark.parametrize("layout", LAYOUTS)
def test_encoder_output_for_a_prefix_is_a_prefix(layout: str) -> None:
    model = causal_codec(layout)
    hop = model.hop_length
    audio = signal(1, 1, 6 * hop + 50, seed=20)
    whole = model.encode(audio)
    for cut in (1, hop - 1, hop, 2 * hop + 7, 5 * hop):
        done = cut // hop
        # Offline: the frames complete within the prefix are those of the whole signal.
        assert torch.equal(model.encode(audio[..., :cut])[..., :done], whole[..., :done])
        # Streaming: the prefix gives exactly those frames, and no more.
        assert torch.equal(StreamingSession(model).encode_step(audio[..., :cut]), whole[..., :done])
    future = audio.clone()
    future[..., 3 * hop :] = signal(1, 1, future.shape[-1] - 3 * hop, seed=21)
    assert torch.equal(model.encode(future)[..., :3], whole[..., :3])
    # The latents show it too (codes of a random tiny model may not move at all).
    z, z_future = model.encoder(model.pad_to_hop(audio)), model.encoder(model.pad_to_hop(future))
    assert torch.allclose(z_future[..., :3], z[..., :3], rtol=0, atol=1e-6)
    assert not torch.allclose(z_future[..., 3:], z[..., 3:], rtol=0, atol=1e-3)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_streamed_encoder_outputs_grow_as_prefixes(layout: str) -> None:
    model = causal_codec(layout)
    audio = signal(1, 1, 5 * model.hop_length, seed=22)
    whole, session, pos, got = model.encode(audio), StreamingSession(model), 0, []
    for n in chunk_sizes(audio.shape[-1], "random", model.hop_length, seed=23):
        got.append(session.encode_step(audio[..., pos : pos + n]))
        pos += n
        so_far = torch.cat(got, dim=-1)
        assert torch.equal(so_far, whole[..., : so_far.shape[-1]])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_decoder_output_for_a_prefix_is_a_prefix(layout: str) -> None:
    model = causal_codec(layout)
    hop = model.hop_length
    gen = torch.Generator().manual_seed(24)
    codes = torch.randint(0, model.codebook_size, (1, model.n_codebooks, 8), generator=gen)
    whole = model.decode(codes)
    session, got = StreamingSession(model), []
    for m in range(1, 9):
        prefix = model.decode(codes[..., :m])
        assert torch.allclose(prefix, whole[..., : m * hop], rtol=0, atol=1e-6)
        got.append(session.decode_step(codes[..., m - 1 : m]))
        assert torch.allclose(torch.cat(got, dim=-1), whole[..., : m * hop], rtol=0, atol=1e-6)
    changed = codes.clone()
    changed[..., 4:] = (changed[..., 4:] + 1) % model.codebook_size
    other = model.decode(changed)
    assert torch.allclose(other[..., : 4 * hop], whole[..., : 4 * hop], rtol=0, atol=1e-6)
    assert not torch.allclose(other[..., 4 * hop :], whole[..., 4 * hop :], rtol=0, atol=1e-3)
