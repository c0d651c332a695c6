"""The public API: load_model, compress, decompress on a real recording."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

import rvqgan
from rvqgan.audio import read_audio, resample, resampled_length
from rvqgan.bitstream import read_rvq
from rvqgan.errors import AudioError, BitstreamError, CheckpointError, InputError
from rvqgan.inference import decode_long
from tests.conftest import REAL_CLIP


def test_round_trip_keeps_rate_length_and_channels(saved_model, tmp_path) -> None:
    model = rvqgan.load_model(saved_model)
    result = rvqgan.compress(model, REAL_CLIP, tmp_path / "a.rvq")
    back = rvqgan.decompress(tmp_path / "a.rvq", tmp_path / "a.wav", model=model)
    ref = sf.info(REAL_CLIP)
    out = sf.info(tmp_path / "a.wav")
    assert (out.samplerate, out.channels, out.frames) == (ref.samplerate, ref.channels, ref.frames)
    assert back.length == ref.frames and result.n_quantizers == model.n_codebooks


def test_file_codes_equal_whole_signal_codes(saved_model, tmp_path) -> None:
    model = rvqgan.load_model(saved_model)
    rvqgan.compress(model, REAL_CLIP, tmp_path / "a.rvq", quality="fast")  # the one-pass encode, as model.encode
    header, codes, end = read_rvq(tmp_path / "a.rvq")
    audio, _ = read_audio(REAL_CLIP, model.sample_rate)
    whole = model.encode(torch.from_numpy(audio)[:, None])
    assert codes.shape == tuple(whole.shape)
    assert (torch.from_numpy(codes) == whole).float().mean() >= 0.999
    assert end.original_length == header.original_length == sf.info(REAL_CLIP).frames


@pytest.mark.parametrize("n", [1, 3])
def test_n_quantizers_is_honoured_on_the_file_path(saved_model, tmp_path, n: int) -> None:
    model = rvqgan.load_model(saved_model)
    result = rvqgan.compress(model, REAL_CLIP, tmp_path / "a.rvq", n_quantizers=n)
    header, codes, _ = read_rvq(tmp_path / "a.rvq")
    assert header.n_codebooks == n and codes.shape[1] == n and result.n_quantizers == n
    rvqgan.decompress(tmp_path / "a.rvq", tmp_path / "a.wav", model=model)
    decoded, rate = sf.read(tmp_path / "a.wav", dtype="float32", always_2d=True)
    length = resampled_length(decoded.shape[0], rate, model.sample_rate)
    expected = resample(decode_long(model, torch.from_numpy(codes), length).numpy(), model.sample_rate, rate)
    # Through a 16-bit WAV: agreement to the PCM rounding (plus resampler edge effects).
    err = np.abs(decoded.T[:, 100:-100] - expected[:, 100:-100]).max()
    assert err < 1e-3


def test_file_size_matches_nominal_bitrate(saved_model, tmp_path) -> None:
    model = rvqgan.load_model(saved_model)
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "noise.wav", 0.1 * rng.standard_normal(24000 * 30).astype(np.float32), 24000)
    result = rvqgan.compress(model, tmp_path / "noise.wav", tmp_path / "n.rvq")
    payload = model.bitrate() * 30 / 8
    assert payload < result.file_bytes < payload * 1.02 + 600


def test_corrupt_file_raises_and_leaves_no_output(saved_model, tmp_path) -> None:
    model = rvqgan.load_model(saved_model)
    rvqgan.compress(model, REAL_CLIP, tmp_path / "a.rvq")
    data = bytearray((tmp_path / "a.rvq").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.rvq").write_bytes(bytes(data))
    with pytest.raises(BitstreamError):
        rvqgan.decompress(tmp_path / "bad.rvq", tmp_path / "bad.wav", model=model)
    assert list(tmp_path.glob("*bad.wav*")) == []
    (tmp_path / "cut.rvq").write_bytes(bytes(data[: len(data) - 40]))
    with pytest.raises(BitstreamError):
        rvqgan.decompress(tmp_path / "cut.rvq", tmp_path / "cut.wav", model=model)
    assert list(tmp_path.glob("*cut.wav*")) == []


def test_wrong_model_is_refused(saved_model, tmp_path) -> None:
    model = rvqgan.load_model(saved_model)
    rvqgan.compress(model, REAL_CLIP, tmp_path / "a.rvq")
    other = rvqgan.load_model(saved_model)
    with torch.no_grad():
        other.decoder.conv_out.bias.add_(0.1)
    other.content_hash = None
    with pytest.raises(CheckpointError, match="hash"):
        rvqgan.decompress(tmp_path / "a.rvq", tmp_path / "a.wav", model=other)
    with pytest.raises(CheckpointError, match="not bundled"):
        rvqgan.decompress(tmp_path / "a.rvq", tmp_path / "a.wav")


def test_existing_output_is_not_overwritten(saved_model, tmp_path) -> None:
    model = rvqgan.load_model(saved_model)
    (tmp_path / "a.rvq").write_bytes(b"keep me")
    with pytest.raises(BitstreamError, match="overwrite"):
        rvqgan.compress(model, REAL_CLIP, tmp_path / "a.rvq")
    assert (tmp_path / "a.rvq").read_bytes() == b"keep me"
    rvqgan.compress(model, REAL_CLIP, tmp_path / "a.rvq", overwrite=True)
    assert (tmp_path / "a.rvq").read_bytes()[:4] == b"RVQG"


def test_bad_inputs_get_clear_errors(saved_model, tmp_path) -> None:
    model = rvqgan.load_model(saved_model)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        rvqgan.compress(model, tmp_path / "empty.wav", tmp_path / "e.rvq")
    sf.write(tmp_path / "nan.wav", np.array([0.0, np.nan, 0.1], np.float32), 24000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        rvqgan.compress(model, tmp_path / "nan.wav", tmp_path / "nan.rvq")
    with pytest.raises(InputError, match="n_quantizers"):
        rvqgan.compress(model, REAL_CLIP, tmp_path / "x.rvq", n_quantizers=99)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.wav", "nan.wav"]


def test_load_model_errors() -> None:
    with pytest.raises(CheckpointError, match="no bundled model"):
        rvqgan.load_model("no-such-model")
    with pytest.raises(CheckpointError, match="not found"):
        rvqgan.load_model("/nonexistent/model.safetensors")
