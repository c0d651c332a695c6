"""Audio in and out: formats, exact resampled lengths, atomic writing, every bad-input case."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from rvqgan.audio import (
    AudioWarning,
    AudioWriter,
    Resampler,
    audio_info,
    iter_audio_blocks,
    read_audio,
    resample,
    resampled_length,
    write_audio,
)
from rvqgan.errors import AudioError
from tests.conftest import REAL_CLIP

RATE = 44100


def _tone(frames: int, channels: int = 2, rate: int = RATE) -> np.ndarray:
    """A quiet chord [frames, channels], soundfile's layout."""
    t = np.arange(frames) / rate
    return np.stack([0.4 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)], 1).astype(np.float32)


# -- reading ---------------------------------------------------------------------------
FORMATS = [
    ("x.wav", "WAV", "PCM_16", RATE),
    ("x.wav", "WAV", "PCM_24", RATE),
    ("x.wav", "WAV", "FLOAT", RATE),
    ("x.flac", "FLAC", "PCM_16", RATE),
    ("x.ogg", "OGG", "VORBIS", RATE),
    ("x.opus", "OGG", "OPUS", 48000),
    pytest.param(
        "x.mp3",
        "MP3",
        "MPEG_LAYER_III",
        RATE,
        marks=pytest.mark.skipif("MP3" not in sf.available_formats(), reason="libsndfile without MP3"),
    ),
]


@pytest.mark.parametrize(("name", "container", "subtype", "rate"), FORMATS)
def test_reads_every_format_as_float32_channels_first(tmp_path: Path, name, container, subtype, rate) -> None:
    data = _tone(rate // 2, 2, rate)
    sf.write(tmp_path / name, data, rate, format=container, subtype=subtype)
    info = audio_info(tmp_path / name)
    assert (info.sample_rate, info.channels, info.format, info.subtype) == (rate, 2, container, subtype)
    audio, got_rate = read_audio(tmp_path / name)
    assert got_rate == rate and audio.dtype == np.float32 and audio.shape[0] == 2
    assert audio.shape[1] == info.frames == rate // 2
    assert np.abs(audio).max() <= 1.0
    if container in ("WAV", "FLAC"):  # lossless: the samples themselves come back
        assert np.abs(audio - data.T).max() < 1e-4


def test_integer_pcm_is_scaled_and_float_kept_as_stored(tmp_path: Path) -> None:
    sf.write(tmp_path / "i.wav", np.array([[16384], [-32768]], np.int16), RATE, subtype="PCM_16")
    assert read_audio(tmp_path / "i.wav")[0].tolist() == [[0.5, -1.0]]
    sf.write(tmp_path / "f.wav", np.array([[0.123456789], [-0.75]], np.float32), RATE, subtype="FLOAT")
    assert read_audio(tmp_path / "f.wav")[0].tolist() == [[np.float32(0.123456789), -0.75]]


def test_any_number_of_channels(tmp_path: Path) -> None:
    sf.write(tmp_path / "six.wav", _tone(1000, 6), RATE)
    audio, _ = read_audio(tmp_path / "six.wav")
    assert audio.shape == (6, 1000)


def test_real_clip_and_its_blocks() -> None:
    audio, rate = read_audio(REAL_CLIP)
    assert rate == 44100 and audio.shape == (2, 123998)
    blocks = list(iter_audio_blocks(REAL_CLIP, block_seconds=0.3))
    assert all(b.shape[0] == 2 and b.dtype == np.float32 for b in blocks)
    assert np.array_equal(np.concatenate(blocks, axis=1), audio)


@pytest.mark.parametrize(("rate_in", "rate_out"), [(44100, 24000), (44100, 16000), (24000, 44100), (48000, 44100)])
def test_streamed_resampling_has_the_exact_length_and_matches_whole(rate_in: int, rate_out: int) -> None:
    audio, rate = read_audio(REAL_CLIP)
    audio = resample(audio, rate, rate_in)
    streamed = Resampler(rate_in, rate_out, 2)
    rng = np.random.default_rng(0)
    cuts = np.cumsum(rng.integers(0, 9000, size=40))
    parts = [streamed.process(b) for b in np.split(audio, cuts[cuts < audio.shape[1]], axis=1)]
    out = np.concatenate([*parts, streamed.flush()], axis=1)
    whole = resample(audio, rate_in, rate_out)
    assert out.shape[1] == whole.shape[1] == resampled_length(audio.shape[1], rate_in, rate_out)
    assert np.abs(out - whole)[:, 100:-100].max() < 1e-3


def test_length_rule_is_round_half_up() -> None:
    assert resampled_length(441, 44100, 22050) == 221  # 220.5
    assert resampled_length(1000, 24000, 44100) == 1838  # 1837.5, where soxr alone gives 1837
    assert resampled_length(1, 44100, 16000) == 0  # 0.36
    assert resample(np.zeros((1, 1000), np.float32), 24000, 44100).shape == (1, 1838)
    assert resample(np.zeros((3, 0), np.float32), 24000, 44100).shape == (3, 0)


@pytest.mark.parametrize("model_rate", [24000, 16000, 44100])
def test_round_trip_to_model_rate_and_back_gives_the_original_length(model_rate: int) -> None:
    rng = np.random.default_rng(1)
    for length in [1, 2, 3, 7, 441, 1000, 44101, int(rng.integers(1, 200000))]:
        audio = rng.standard_normal((1, length)).astype(np.float32) * 0.1
        there = Resampler(RATE, model_rate, 1)
        mid = np.concatenate([there.process(audio), there.flush()], axis=1)
        assert mid.shape[1] == resampled_length(length, RATE, model_rate)
        back = Resampler(model_rate, RATE, 1, length=length)  # length from the bitstream header
        out = np.concatenate([back.process(mid[:, :500]), back.process(mid[:, 500:]), back.flush()], axis=1)
        assert out.shape == (1, length)
        assert resample(mid, model_rate, RATE, length=length).shape == (1, length)


def test_iter_blocks_resamples_on_the_fly() -> None:
    blocks = list(iter_audio_blocks(REAL_CLIP, 24000, block_seconds=0.5, quality="VHQ"))
    assert sum(b.shape[1] for b in blocks) == resampled_length(123998, 44100, 24000)
    assert max(b.shape[1] for b in blocks) <= 0.5 * 24000 + 2000  # a block plus the filter delay


# -- writing ---------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "subtype"), [("o.wav", "PCM_16"), ("o.flac", "PCM_16"), ("o.ogg", "VORBIS")])
def test_writer_defaults_and_round_trip(tmp_path: Path, name: str, subtype: str) -> None:
    data = _tone(RATE // 4).T
    with AudioWriter(tmp_path / name, RATE, 2) as writer:
        writer.write(data[:, :1000])
        writer.write(torch.from_numpy(data[:, 1000:]))  # tensors too
    assert audio_info(tmp_path / name).subtype == subtype
    assert read_audio(tmp_path / name)[0].shape == data.shape
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temp file left


def test_writer_is_atomic_and_cleans_up_on_error(tmp_path: Path) -> None:
    target = tmp_path / "o.wav"
    with pytest.raises(RuntimeError), AudioWriter(target, RATE, 1) as writer:
        writer.write(np.zeros((1, 100), np.float32))
        assert not target.exists()  # only the hidden temp file exists while writing
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(AudioError, match="NaN"), AudioWriter(target, RATE, 1) as writer:
        writer.write(np.full((1, 10), np.nan, np.float32))
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_to_overwrite_without_intent(tmp_path: Path) -> None:
    target = tmp_path / "o.flac"
    write_audio(target, np.zeros((1, 10), np.float32), RATE)
    with pytest.raises(AudioError, match="--overwrite"):
        write_audio(target, np.ones((1, 10), np.float32) * 0.5, RATE)
    assert np.all(read_audio(target)[0] == 0)
    write_audio(target, np.ones((1, 10), np.float32) * 0.5, RATE, overwrite=True)
    assert np.allclose(read_audio(target)[0], 0.5, atol=1e-4)


def test_writer_clips_integer_subtypes_with_a_warning_and_keeps_float(tmp_path: Path) -> None:
    loud = np.array([[0.5, 1.5, -2.0]], np.float32)
    with pytest.warns(AudioWarning, match="2 sample"):
        write_audio(tmp_path / "i.wav", loud, RATE)
    assert np.allclose(read_audio(tmp_path / "i.wav")[0], [[0.5, 1.0, -1.0]], atol=1e-4)
    write_audio(tmp_path / "f.wav", loud, RATE, subtype="FLOAT")
    with pytest.warns(AudioWarning, match="beyond"):
        assert read_audio(tmp_path / "f.wav")[0].tolist() == loud.tolist()


def test_writer_bad_destinations(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="suffix"):
        AudioWriter(tmp_path / "o.xyz", RATE, 1)
    with pytest.raises(AudioError, match="does not exist"):
        AudioWriter(tmp_path / "nope" / "o.wav", RATE, 1)
    with pytest.raises(AudioError, match="folder"):
        AudioWriter(tmp_path, RATE, 1, overwrite=True)
    with pytest.raises(AudioError, match="cannot be written"):
        AudioWriter(tmp_path / "o.flac", RATE, 1, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"\[2, n\]"), AudioWriter(tmp_path / "o.wav", RATE, 2) as writer:
        writer.write(np.zeros((1, 10), np.float32))


# -- bad input ---------------------------------------------------------------------------
def test_missing_folder_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no such file"):
        read_audio(tmp_path / "missing.wav")
    with pytest.raises(AudioError, match="is a folder"):
        audio_info(tmp_path)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty file \(0 bytes\)"):
        iter_audio_blocks(tmp_path / "empty.wav")  # refused at the call, not at the first block


def test_random_bytes_and_unknown_formats(tmp_path: Path) -> None:
    (tmp_path / "noise.wav").write_bytes(np.random.default_rng(0).bytes(4096))
    (tmp_path / "notes.txt").write_text("not audio\n" * 50)
    for name in ("noise.wav", "notes.txt"):
        with pytest.raises(AudioError, match="not a readable audio file.*supported: WAV, FLAC"):
            read_audio(tmp_path / name)


def test_truncated_and_corrupt_flac(tmp_path: Path) -> None:
    sf.write(tmp_path / "ok.flac", _tone(RATE), RATE)
    data = (tmp_path / "ok.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    corrupt[len(data) // 2 : len(data) // 2 + 300] = np.random.default_rng(0).bytes(300)
    (tmp_path / "bad.flac").write_bytes(bytes(corrupt))
    for name in ("cut.flac", "bad.flac"):
        with pytest.raises(AudioError, match="corrupt or truncated"):
            read_audio(tmp_path / name)


def test_truncated_wav_is_read_with_a_warning(tmp_path: Path) -> None:
    sf.write(tmp_path / "ok.wav", _tone(RATE), RATE)
    data = (tmp_path / "ok.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    with pytest.warns(AudioWarning, match="truncated"):
        audio, _ = read_audio(tmp_path / "cut.wav")
    assert 0 < audio.shape[1] < RATE


def test_zero_frames_is_no_audio(tmp_path: Path) -> None:
    sf.write(tmp_path / "zero.wav", np.zeros((0, 1), np.float32), RATE)
    assert audio_info(tmp_path / "zero.wav").frames == 0  # described...
    with pytest.raises(AudioError, match="no audio samples"):
        read_audio(tmp_path / "zero.wav")  # ...but not read
    with pytest.raises(AudioError, match="no audio samples"):
        list(iter_audio_blocks(tmp_path / "zero.wav", 24000))


def test_nan_and_inf_are_refused_with_their_position(tmp_path: Path) -> None:
    data = np.zeros((RATE, 2), np.float32)
    data[30000, 1] = np.nan
    data[40000, 0] = np.inf
    sf.write(tmp_path / "nan.wav", data, RATE, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"2 NaN or infinite.*frame 30000 \(0\.680 s\), channel 1"):
        read_audio(tmp_path / "nan.wav")
    blocks = iter_audio_blocks(tmp_path / "nan.wav", block_seconds=0.5)
    assert next(blocks).shape == (2, 22050)  # the clean first half second still streams
    with pytest.raises(AudioError, match="frame 30000"):
        next(blocks)


def test_float_beyond_full_scale_is_kept_with_a_warning(tmp_path: Path) -> None:
    data = _tone(1000, 1) * 4
    sf.write(tmp_path / "hot.wav", data, RATE, subtype="FLOAT")
    with pytest.warns(AudioWarning, match=r"beyond \[-1, 1\] \(peak 1\.6"):
        audio, _ = read_audio(tmp_path / "hot.wav")
    assert np.array_equal(audio, data.T)


def test_silence_is_ordinary_audio(tmp_path: Path) -> None:
    sf.write(tmp_path / "quiet.flac", np.zeros((5000, 1), np.float32), RATE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audio, _ = read_audio(tmp_path / "quiet.flac", 16000)
    assert audio.shape == (1, resampled_length(5000, RATE, 16000)) and not audio.any()


def test_bad_resampling_arguments(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="quality"):
        iter_audio_blocks(REAL_CLIP, 24000, quality="best")
    with pytest.raises(AudioError, match="positive integer"):
        resample(np.zeros((1, 10), np.float32), 0, 16000)
    with pytest.raises(AudioError, match="block_seconds"):
        iter_audio_blocks(REAL_CLIP, block_seconds=0)
    resampler = Resampler(RATE, 16000, 1)
    resampler.flush()
    with pytest.raises(AudioError, match="after flush"):
        resampler.process(np.zeros((1, 10), np.float32))
