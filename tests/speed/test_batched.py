"""Batched inference with padding masks gives each file what coding it alone gives."""

from __future__ import annotations

import pytest
import torch

from rvqgan.errors import InputError
from rvqgan.inference import batched, decode_batch, decode_long, encode_batch, encode_long
from tests.inference.helpers import tiny_codec


def _files(seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    lengths = [(2, 3001), (1, 12345), (1, 777), (3, 5000), (2, 0), (1, 512)]
    return [0.3 * torch.randn(c, n, generator=gen) for c, n in lengths]


def _reference_path(model, on: bool) -> None:
    model.encoder.tiled_inference = model.decoder.tiled_inference = not on


@pytest.mark.parametrize("masked", [None, True])
@pytest.mark.parametrize("layout", ["tiny_44khz", "dac_16khz"])
def test_encode_batch_equals_one_by_one(layout: str, masked: bool | None) -> None:
    model = tiny_codec(layout)
    files = _files()
    # The masked batches run the channel-major layers; compare with the same numerics.
    _reference_path(model, masked is True)
    alone = [encode_long(model, audio) for audio in files]
    together = encode_batch(model, files, batch_size=3, masked=masked)
    assert len(together) == len(files)
    for got, want in zip(together, alone, strict=True):
        assert got.dtype == torch.long and torch.equal(got, want)


@pytest.mark.parametrize("masked", [None, True])
def test_decode_batch_equals_one_by_one(masked: bool | None) -> None:
    model = tiny_codec("dac_16khz")
    files = _files(1)
    _reference_path(model, masked is True)
    codes = [encode_long(model, audio) for audio in files]
    lengths = [audio.shape[-1] for audio in files]
    together = decode_batch(model, codes, lengths, batch_size=4, masked=masked)
    for got, code, n in zip(together, codes, lengths, strict=True):
        want = decode_long(model, code, n)
        assert got.shape == want.shape == (code.shape[0], n)
        if n:
            assert (got - want).abs().max() <= 1e-5 * max(1.0, float(want.abs().max()))
    full = decode_batch(model, codes[:2], masked=masked)  # no lengths: everything decoded
    assert [a.shape[-1] for a in full] == [model.decoded_length(c.shape[-1]) for c in codes[:2]]


def test_masks_are_what_keeps_short_files_exact(monkeypatch) -> None:
    """Without the masks, a short file batched with a long one gets other codes at its end."""
    model = tiny_codec("tiny_44khz")
    _reference_path(model, True)
    files = [_files()[1], _files()[2]]  # 12345 and 777 samples
    alone = [encode_long(model, audio) for audio in files]
    monkeypatch.setattr(batched, "_mask", lambda x, length: x)
    unmasked = encode_batch(model, files, batch_size=2, masked=True)
    assert not torch.equal(unmasked[1], alone[1])


def test_n_quantizers_and_channels() -> None:
    model = tiny_codec("tiny_44khz")
    files = _files()
    codes = encode_batch(model, files, n_quantizers=2)
    assert [tuple(c.shape[:2]) for c in codes] == [(a.shape[0], 2) for a in files]
    assert torch.equal(codes[3], encode_long(model, files[3], n_quantizers=2))


def test_bad_inputs_raise_input_error() -> None:
    model = tiny_codec("tiny_44khz")
    with pytest.raises(InputError, match="float"):
        encode_batch(model, [torch.zeros(1, 10, dtype=torch.int16)])
    with pytest.raises(InputError, match="NaN"):
        encode_batch(model, [torch.full((1, 10), float("nan"))])
    with pytest.raises(InputError, match="batch_size"):
        encode_batch(model, [torch.zeros(1, 10)], batch_size=0)
    codes = encode_batch(model, [torch.zeros(1, 1000)])
    with pytest.raises(InputError, match="length"):
        decode_batch(model, codes, [10**6])
    with pytest.raises(InputError, match="lengths"):
        decode_batch(model, codes, [1, 2])
    with pytest.raises(InputError, match="codebooks"):
        decode_batch(model, [codes[0], codes[0][:, :1]])
    with pytest.raises(InputError):
        decode_batch(model, [codes[0] + model.codebook_size])
