"""WAV through pipes: every common sample format in, a readable stream out."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from rvqgan.errors import AudioError
from rvqgan.streaming.wavio import WavPipeReader, WavPipeWriter


class _Pipe(io.RawIOBase):
    """A non-seekable stream that returns at most ``step`` bytes a read, as pipes may."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._step if n < 0 else min(n, self._step)
        part = self._data[self._pos : self._pos + n]
        self._pos += len(part)
        return part


def _wav_bytes(audio: np.ndarray, rate: int, subtype: str, fmt: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, subtype=subtype, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
def test_every_sample_format_reads_as_soundfile_does(subtype: str, fmt: str) -> None:
    rng = np.random.default_rng(0)
    audio = np.clip(0.4 * rng.standard_normal((1000, 3)), -1, 1).astype(np.float32)
    data = _wav_bytes(audio, 22050, subtype, fmt)
    reader = WavPipeReader(_Pipe(data))
    blocks = [reader.read(333) for _ in range(5)]
    assert [b.shape[1] for b in blocks] == [333, 333, 333, 1, 0]
    expected, _ = sf.read(io.BytesIO(data), dtype="float32")
    assert (reader.sample_rate, reader.channels, reader.announced_frames) == (22050, 3, 1000)
    assert np.array_equal(np.concatenate(blocks, axis=1), expected.T)


def _header(size: int, extra_chunk: bytes = b"") -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 0xFFFFFFFF)
        + b"WAVE"
        + extra_chunk
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + (b"data" + struct.pack("<I", size))
    )


def test_unknown_sizes_and_odd_chunks() -> None:
    samples = np.arange(-50, 50, dtype="<i2")
    odd = b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd size: one pad byte follows
    for size in (0, 0xFFFFFFFF):
        reader = WavPipeReader(_Pipe(_header(size, odd) + samples.tobytes() + b"\x01"))  # a stray half frame
        assert reader.announced_frames is None
        got = reader.read(1000)
        assert np.array_equal(got[0], samples / 32768.0) and reader.read(10).shape == (1, 0)
    # An announced size shorter than the stream: reading stops there.
    reader = WavPipeReader(io.BytesIO(_header(20) + samples.tobytes()))
    assert reader.read(1000).shape == (1, 10)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"OggS" + bytes(40), "not a WAV stream"),
        (b"RIFF\x00\x00", "ends inside the RIFF header"),
        (_header(10)[:30], "ends inside"),
        (_header(10).replace(b"\x01\x00\x01\x00", b"\x02\x00\x01\x00"), "unsupported WAV sample format"),
    ],
)
def test_bad_streams_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        WavPipeReader(io.BytesIO(data))


def test_the_writer_streams_and_patches_a_seekable_target(tmp_path) -> None:
    audio = np.stack([np.linspace(-1.2, 1.2, 500), np.zeros(500)]).astype(np.float32)
    pipe = io.BytesIO()
    pipe.seekable = lambda: False  # type: ignore[method-assign]
    writer = WavPipeWriter(pipe, 16000, 2)
    writer.write(audio[:, :200])
    writer.write(audio[:, 200:])
    writer.close()
    data = pipe.getvalue()
    assert struct.unpack("<I", data[40:44])[0] == 0xFFFFFFFF  # unknown on a pipe
    back = WavPipeReader(io.BytesIO(data)).read(10**4)
    assert np.abs(back - np.clip(audio, -1, 1)).max() <= 2 / 32768  # written x 32767, read / 32768
    with open(tmp_path / "o.wav", "wb") as file:
        writer = WavPipeWriter(file, 16000, 2, subtype="FLOAT")
        writer.write(audio)
        writer.close()
    info = sf.info(tmp_path / "o.wav")
    assert (info.frames, info.samplerate, info.subtype) == (500, 16000, "FLOAT")
    with pytest.raises(AudioError):
        WavPipeWriter(io.BytesIO(), 16000, 2).write(np.full((2, 3), np.nan, np.float32))


def test_the_writer_leaves_special_files_alone() -> None:
    import os

    with open(os.devnull, "wb") as sink:  # seekable, but tell() is always 0: never patched
        writer = WavPipeWriter(sink, 8000, 1)
        writer.write(np.zeros((1, 100), np.float32))
        writer.close()
    assert writer.frames_written == 100
