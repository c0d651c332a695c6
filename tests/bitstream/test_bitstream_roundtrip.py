"""Writer and reader together: exact round trips, streaming, safe file handling, size."""

from __future__ import annotations

import io
import os
import threading

import numpy as np
import pytest
import torch

from rvqgan.bitstream import CHUNK_OVERHEAD, END_SIZE, RvqReader, RvqWriter, default_chunk_frames, read_rvq
from rvqgan.errors import BitstreamError, InputError
from tests.bitstream.helpers import make_header, random_codes, write_bytes


@pytest.mark.parametrize("bits", range(1, 17))
def test_round_trip_every_bit_width(bits):
    rng = np.random.default_rng(bits)
    header = make_header(codebook_size=2**bits, n_codebooks=3, channels=2, chunk_frames=5)
    codes = random_codes(rng, header, 23)
    got_header, got, end = read_rvq(io.BytesIO(write_bytes(header, codes, original_length=999)))
    assert got_header == header
    np.testing.assert_array_equal(got, codes)
    assert got.dtype == np.int64
    assert (end.total_frames, end.n_chunks, end.original_length) == (23, 5, 999)


@pytest.mark.parametrize(
    "channels, n_codebooks, frames, chunk_frames",
    [(1, 1, 0, 8), (1, 9, 1, 8), (2, 4, 8, 8), (3, 2, 100, 7), (1, 32, 64, 1), (2, 9, 1000, 176)],
)
def test_round_trip_shapes(channels, n_codebooks, frames, chunk_frames, tmp_path):
    rng = np.random.default_rng(frames)
    header = make_header(channels=channels, n_codebooks=n_codebooks, chunk_frames=chunk_frames, codebook_size=1000)
    codes = random_codes(rng, header, frames)
    path = tmp_path / "x.rvq"
    with RvqWriter(path, header) as writer:
        writer.write_chunk(codes)
    _, got, end = read_rvq(path)
    assert got.shape == (channels, n_codebooks, frames)
    np.testing.assert_array_equal(got, codes)
    assert end.n_chunks == -(-frames // chunk_frames)
    assert end.original_length is None  # neither header nor close() gave it


def test_reader_yields_chunks_of_chunk_frames_and_pieces_do_not_change_the_bytes():
    rng = np.random.default_rng(0)
    header = make_header(chunk_frames=8)
    codes = random_codes(rng, header, 30)
    whole = write_bytes(header, codes)
    sink = io.BytesIO()
    with RvqWriter(sink, header) as writer:
        for start, stop in [(0, 3), (3, 3), (3, 20), (20, 29), (29, 30)]:  # includes an empty piece
            writer.write_chunk(torch.from_numpy(codes[:, :, start:stop]))  # tensors are accepted
    assert sink.getvalue() == whole
    with RvqReader(io.BytesIO(whole)) as reader:
        assert [c.shape[2] for c in reader] == [8, 8, 8, 6]


def test_flush_writes_short_chunks_for_live_streaming():
    rng = np.random.default_rng(1)
    header = make_header(chunk_frames=8, original_length=4800)
    codes = random_codes(rng, header, 10)
    sink = io.BytesIO()
    with RvqWriter(sink, header) as writer:
        writer.write_chunk(codes[:, :, :3])
        writer.flush()
        writer.write_chunk(codes[:, :, 3:])
    with RvqReader(io.BytesIO(sink.getvalue())) as reader:
        chunks = list(reader)
        assert [c.shape[2] for c in chunks] == [3, 7]
        assert reader.end.original_length == 4800
    np.testing.assert_array_equal(np.concatenate(chunks, axis=2), codes)


class OneWayPipe(io.RawIOBase):
    """A non-seekable stream that hands out data in small, uneven pieces."""

    def __init__(self, data: bytes):
        self._data, self._pos, self._step = data, 0, 1

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        self._step = self._step % 5 + 1
        n = self._step if n < 0 else min(n, self._step)
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out


class WriteOnlySink:
    """A write-only, non-seekable target that accepts at most 3 bytes per call."""

    def __init__(self):
        self.data = bytearray()

    def write(self, data) -> int:
        self.data += bytes(data[:3])
        return min(3, len(data))

    def flush(self) -> None:
        pass


def test_non_seekable_source_and_target():
    rng = np.random.default_rng(2)
    header = make_header(channels=2, chunk_frames=4)
    codes = random_codes(rng, header, 19)
    sink = WriteOnlySink()
    with RvqWriter(sink, header) as writer:
        writer.write_chunk(codes)
        writer.close(original_length=777)
    _, got, end = read_rvq(OneWayPipe(bytes(sink.data)))
    np.testing.assert_array_equal(got, codes)
    assert end.original_length == 777


def test_real_os_pipe_reader_gets_chunks_while_the_writer_is_still_writing():
    rng = np.random.default_rng(3)
    header = make_header(chunk_frames=4)
    codes = random_codes(rng, header, 40)
    read_fd, write_fd = os.pipe()
    first_chunk_seen = threading.Event()
    received = []

    def consume():
        with os.fdopen(read_fd, "rb") as source:
            for chunk in RvqReader(source):
                received.append(chunk)
                first_chunk_seen.set()

    thread = threading.Thread(target=consume)
    thread.start()
    with os.fdopen(write_fd, "wb") as target, RvqWriter(target, header) as writer:
        writer.write_chunk(codes[:, :, :4])
        writer.flush()
        # The reader must see chunk 0 before the rest is even written.
        assert first_chunk_seen.wait(timeout=10)
        writer.write_chunk(codes[:, :, 4:])
    thread.join(timeout=10)
    np.testing.assert_array_equal(np.concatenate(received, axis=2), codes)


def test_writer_refuses_to_overwrite_unless_asked(tmp_path):
    header = make_header()
    path = tmp_path / "out.rvq"
    path.write_bytes(b"precious")
    with pytest.raises(BitstreamError, match="--overwrite"):
        RvqWriter(path, header)
    assert path.read_bytes() == b"precious"
    codes = np.zeros((1, 4, 3), dtype=np.int64)
    with RvqWriter(path, header, overwrite=True) as writer:
        writer.write_chunk(codes)
    np.testing.assert_array_equal(read_rvq(path)[1], codes)
    assert os.listdir(tmp_path) == ["out.rvq"]


def test_file_appearing_during_the_write_is_not_overwritten(tmp_path):
    path = tmp_path / "out.rvq"
    writer = RvqWriter(path, make_header())
    path.write_bytes(b"someone else's")
    with pytest.raises(BitstreamError, match="already exists"):
        writer.close()
    assert path.read_bytes() == b"someone else's"
    assert os.listdir(tmp_path) == ["out.rvq"]


def test_exception_inside_with_leaves_no_file_and_no_temp(tmp_path):
    path = tmp_path / "out.rvq"
    with pytest.raises(RuntimeError, match="encoder crashed"), RvqWriter(path, make_header()) as writer:
        writer.write_chunk(np.ones((1, 4, 20), dtype=np.int64))
        assert len(os.listdir(tmp_path)) == 1  # the temporary file exists meanwhile
        raise RuntimeError("encoder crashed")
    assert os.listdir(tmp_path) == []


def test_temp_file_is_hidden_next_to_the_target_until_close(tmp_path):
    path = tmp_path / "out.rvq"
    writer = RvqWriter(path, make_header())
    (temp,) = os.listdir(tmp_path)
    assert temp.startswith(".out.rvq.partial-") and not path.exists()
    writer.close()
    assert os.listdir(tmp_path) == ["out.rvq"]


@pytest.mark.parametrize(
    "codes, message",
    [
        (np.full((1, 4, 3), 1024), r"\[0, 1024\)"),
        (np.full((1, 4, 3), -1), r"\[0, 1024\)"),
        (np.zeros((2, 4, 3), dtype=np.int64), "shape"),
        (np.zeros((4, 3), dtype=np.int64), "shape"),
        (np.zeros((1, 4, 3), dtype=np.float32), "integers"),
    ],
)
def test_bad_codes_raise_input_error_and_write_nothing(codes, message, tmp_path):
    path = tmp_path / "out.rvq"
    with pytest.raises(InputError, match=message), RvqWriter(path, make_header()) as writer:
        writer.write_chunk(codes)
    assert os.listdir(tmp_path) == []


def test_close_checks_original_length_and_writer_cannot_be_reused():
    header = make_header(original_length=100)
    writer = RvqWriter(io.BytesIO(), header)
    with pytest.raises(InputError, match="contradicts"):
        writer.close(original_length=101)
    writer.close(original_length=100)
    with pytest.raises(BitstreamError, match="closed"):
        writer.write_chunk(np.zeros((1, 4, 1), dtype=np.int64))


def test_size_is_nominal_bitrate_plus_small_overhead(tmp_path):
    """60 s of 9 x 10-bit codes at 86.13 frames/s with the default chunk length."""
    sample_rate, hop, seconds = 44100, 512, 60
    frames = -(-seconds * sample_rate // hop)
    header = make_header(
        n_codebooks=9,
        original_sample_rate=sample_rate,
        original_length=seconds * sample_rate,
        chunk_frames=default_chunk_frames(sample_rate / hop),
    )
    codes = random_codes(np.random.default_rng(4), header, frames)
    path = tmp_path / "a.rvq"
    with RvqWriter(path, header) as writer:
        writer.write_chunk(codes)
        end = writer.close()
    nominal = header.nominal_bitrate * frames / header.frame_rate / 8  # bytes
    assert nominal == 9 * 10 * frames / 8
    size = path.stat().st_size
    overhead = size - writer.header_size - nominal
    assert 0 < overhead < 0.01 * nominal
    # Exactly: 11 bytes per chunk, the end record, and the last chunk's padding.
    assert overhead == end.n_chunks * CHUNK_OVERHEAD + END_SIZE + (-(9 * 10 * frames) % 8) / 8
