"""Chunked encode/decode equals the whole-file result, keeps lengths exact, leaves the model alone."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from rvqgan.audio import resample
from rvqgan.errors import InputError
from rvqgan.inference import decode_long, decode_stream, encode_long, encode_stream, frames_for_length
from tests.conftest import real_clip  # noqa: F401  (fixture)
from tests.inference.helpers import relative_error_db, tiny_codec, whole_file_codes

LAYOUTS = ["tiny_44khz", "dac_16khz"]  # even strides (hop 512) and odd strides (hop 320, L*hop - 8)


@pytest.fixture(scope="module", params=LAYOUTS)
def model(request: pytest.FixtureRequest):
    return tiny_codec(request.param)


@pytest.fixture(scope="module")
def clip(model, real_clip):  # noqa: F811
    """1.5 s of the real recording, stereo, at the model's rate, as a tensor [2, T]."""
    audio, rate = real_clip
    audio = resample(audio[:, : int(1.5 * rate)], rate, model.sample_rate)
    return torch.from_numpy(audio)


@pytest.mark.parametrize("chunk_frames", [1, 3, 16, 256])
def test_chunked_codes_and_audio_equal_whole_file(model, clip, chunk_frames: int) -> None:
    if chunk_frames == 1:
        clip = clip[:, : 30 * model.hop_length + 77]  # keep the slowest case short
    codes = encode_long(model, clip, chunk_frames=chunk_frames)
    reference = whole_file_codes(model, clip)
    assert codes.shape == reference.shape
    assert (codes == reference).float().mean() >= 0.999  # expected 1.0; a rounding tie may flip
    audio = decode_long(model, reference, clip.shape[-1], chunk_frames=chunk_frames)
    whole = model.decode(reference)[:, 0, : clip.shape[-1]]
    assert audio.shape == clip.shape
    assert relative_error_db(audio, whole) < -60


def test_chunked_decode_is_exact_in_float64(model) -> None:
    # In float64 the chunked result agrees to ~-300 dB; a context one frame short gives
    # only -115..-140 dB, so this checks that the context is really enough.
    model64 = copy.deepcopy(model).double()
    audio = 0.3 * torch.randn(2, 40 * model.hop_length + 123, dtype=torch.float64)
    codes = encode_long(model64, audio, chunk_frames=3)
    assert torch.equal(codes, whole_file_codes(model64, audio))
    decoded = decode_long(model64, codes, audio.shape[-1], chunk_frames=3)
    assert decoded.dtype == torch.float64
    assert relative_error_db(decoded, model64.decode(codes)[:, 0, : audio.shape[-1]]) < -250


def test_even_strides_match_codec_encode_exactly(clip) -> None:
    model = tiny_codec("tiny_44khz")
    assert torch.equal(encode_long(model, clip, chunk_frames=5), model.encode(clip.unsqueeze(1)))


@pytest.mark.parametrize("seed", range(3))
def test_output_length_equals_input_length(model, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    hop = model.hop_length
    lengths = [1, 2, hop - 1, hop, hop + 1, 3 * hop, 5 * hop - 3, 5 * hop - 8, 5 * hop - 9]
    lengths += torch.randint(1, 12 * hop, (4,), generator=gen).tolist()
    for length in lengths:
        audio = 0.3 * torch.randn(1, length, generator=gen)
        codes = encode_long(model, audio, chunk_frames=2)
        assert codes.shape[-1] == frames_for_length(model, length)
        assert model.decoded_length(codes.shape[-1]) >= length
        assert decode_long(model, codes, length, chunk_frames=2).shape == (1, length)


def test_odd_strides_code_one_more_frame_when_the_tail_would_be_lost() -> None:
    model = tiny_codec("dac_16khz")
    assert model.decoded_length(3) == 3 * 320 - 8
    assert frames_for_length(model, 3 * 320 - 8) == 3
    assert frames_for_length(model, 3 * 320 - 7) == 4
    assert frames_for_length(model, 3 * 320) == 4
    assert frames_for_length(model, 0) == 0


def test_streams_accept_any_block_sizes(model, clip) -> None:
    rng = np.random.default_rng(0)
    cuts = np.cumsum(rng.integers(0, 3000, size=200))
    cuts = cuts[cuts < clip.shape[-1]]
    blocks = [b.numpy() for b in np.split(clip, cuts, axis=1)]  # numpy blocks, some empty
    streamed = torch.cat(list(encode_stream(model, blocks, chunk_frames=7)), dim=-1)
    assert torch.equal(streamed, encode_long(model, clip, chunk_frames=7))
    frame_cuts = np.cumsum(rng.integers(0, 9, size=100))
    pieces = np.split(np.arange(streamed.shape[-1]), frame_cuts[frame_cuts < streamed.shape[-1]])
    audio = torch.cat(list(decode_stream(model, (streamed[..., p] for p in pieces), length=clip.shape[-1])), -1)
    assert torch.allclose(audio, decode_long(model, streamed, clip.shape[-1]), atol=1e-6)


def test_encode_stream_is_lazy(model) -> None:
    consumed = []

    def blocks():
        for i in range(100):
            consumed.append(i)
            yield torch.zeros(1, model.hop_length)

    first = next(encode_stream(model, blocks(), chunk_frames=4))
    assert first.shape[-1] == 4
    assert len(consumed) < 20  # the first chunk came long before the end of the input


def test_n_quantizers_and_default_length(model, clip) -> None:
    codes = encode_long(model, clip, n_quantizers=2, chunk_frames=8)
    assert torch.equal(codes, whole_file_codes(model, clip, 2))
    audio = decode_long(model, codes, None, chunk_frames=8)
    assert audio.shape[-1] == model.decoded_length(codes.shape[-1])
    assert relative_error_db(audio, model.decode(codes)[:, 0]) < -60
    head = decode_long(model, codes, 1000, chunk_frames=1)  # a length short of the codes: cut
    assert relative_error_db(head, audio[:, :1000]) < -60


def test_causal_layout_chunks_exactly(model, clip) -> None:
    model = tiny_codec("tiny_44khz" if model.hop_length == 512 else "dac_16khz", causal=True)
    codes = encode_long(model, clip[:, :20000], chunk_frames=3)
    assert torch.equal(codes, whole_file_codes(model, clip[:, :20000]))
    audio = decode_long(model, codes, 20000, chunk_frames=3)
    assert relative_error_db(audio, model.decode(codes)[:, 0, :20000]) < -60


def _snapshot(module: torch.nn.Module) -> dict:
    state = {k: v.clone() for k, v in module.state_dict().items()}
    attrs = {
        name: {k: v for k, v in vars(m).items() if k not in ("_parameters", "_buffers", "_modules")}
        for name, m in module.named_modules()
    }
    return {"state": state, "attrs": repr(attrs), "grad": [p.requires_grad for p in module.parameters()]}


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_model_is_left_unchanged(mode: str, clip) -> None:
    clip = clip[:, :12345]
    model = tiny_codec("dac_16khz")
    model.train(mode == "train")
    before = _snapshot(model)
    codes = encode_long(model, clip, chunk_frames=4)
    decode_long(model, codes, clip.shape[-1], chunk_frames=4)
    after = _snapshot(model)
    assert before["attrs"] == after["attrs"] and before["grad"] == after["grad"]
    assert before["state"].keys() == after["state"].keys()
    assert all(torch.equal(before["state"][k], after["state"][k]) for k in before["state"])
    assert model.training == (mode == "train")
    assert all(p.grad is None for p in model.parameters())
    # The mode changes nothing on these paths.
    assert torch.equal(codes, encode_long(tiny_codec("dac_16khz"), clip, chunk_frames=4))


def test_empty_input(model) -> None:
    codes = encode_long(model, torch.zeros(2, 0))
    assert codes.shape == (2, model.n_codebooks, 0)
    assert decode_long(model, codes, 0).shape == (2, 0)
    assert list(encode_stream(model, [])) == []


def test_bad_inputs_are_refused(model) -> None:
    with pytest.raises(InputError, match=r"\[C, n\]"):
        encode_long(model, torch.zeros(1, 1, 100))
    with pytest.raises(InputError, match="float"):
        encode_long(model, torch.zeros(1, 100, dtype=torch.int16))
    with pytest.raises(InputError, match="channels"):
        list(encode_stream(model, [torch.zeros(1, 100), torch.zeros(2, 100)]))
    with pytest.raises(InputError, match="chunk_frames"):
        encode_long(model, torch.zeros(1, 100), chunk_frames=0)
    with pytest.raises(InputError, match="NaN"):
        encode_long(model, torch.full((1, 100), float("nan")))
    codes = encode_long(model, torch.zeros(1, 3 * model.hop_length))
    with pytest.raises(InputError, match="fewer than length"):
        decode_long(model, codes, model.decoded_length(codes.shape[-1]) + 1)
    with pytest.raises(InputError, match="codebooks"):
        decode_long(model, torch.zeros(1, model.n_codebooks + 1, 3, dtype=torch.long), 10)
    with pytest.raises(InputError, match=r"\[C, K\]"):
        list(decode_stream(model, [codes, codes[:, :2]], length=None))
