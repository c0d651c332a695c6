"""Damaged, truncated and foreign files always raise BitstreamError, never anything else."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from rvqgan.bitstream import CHUNK_OVERHEAD, RvqEnd, RvqReader, pack_codes, read_rvq
from rvqgan.bitstream.layout import PREAMBLE, crc32, encode_chunk, encode_end, encode_preamble
from rvqgan.errors import BitstreamError
from tests.bitstream.helpers import make_header, random_codes, write_bytes
from tests.conftest import REAL_CLIP

FLAC = str(REAL_CLIP)

HEADER = make_header(n_codebooks=2, codebook_size=1024, channels=2, chunk_frames=3, original_length=1234)
CODES = random_codes(np.random.default_rng(5), HEADER, 8)  # chunks of 3, 3 and 2 frames
DATA = write_bytes(HEADER, CODES)


def _chunk_ends() -> list[int]:
    """Byte offset just after each chunk record of DATA."""
    offset = PREAMBLE.size + len(HEADER.to_json().encode()) + 4
    ends = []
    for frames in (3, 3, 2):
        offset += CHUNK_OVERHEAD + HEADER.chunk_payload_bytes(frames)
        ends.append(offset)
    return ends


def _read_until_error(data: bytes) -> tuple[list[np.ndarray], BitstreamError | None]:
    chunks: list[np.ndarray] = []
    try:
        with RvqReader(io.BytesIO(data)) as reader:
            for chunk in reader:  # one by one: keep what came before the error
                chunks.append(chunk)  # noqa: PERF402
    except BitstreamError as exc:
        return chunks, exc
    return chunks, None


def test_the_intact_file_reads_completely():
    chunks, error = _read_until_error(DATA)
    assert error is None and len(chunks) == 3
    np.testing.assert_array_equal(np.concatenate(chunks, axis=2), CODES)


def test_truncation_at_every_byte_is_detected_after_the_complete_chunks():
    ends = _chunk_ends()
    assert ends[-1] < len(DATA)  # the end record follows the last chunk
    for cut in range(len(DATA)):
        chunks, error = _read_until_error(DATA[:cut])
        assert error is not None, f"a file cut at byte {cut} of {len(DATA)} was read as complete"
        complete = sum(end <= cut for end in ends)
        assert len(chunks) == complete, f"cut at {cut}: {len(chunks)} chunks yielded, {complete} were complete"
        for i, chunk in enumerate(chunks):
            np.testing.assert_array_equal(chunk, CODES[:, :, 3 * i : 3 * i + chunk.shape[2]])
        if cut in ends:
            assert "truncated" in str(error) and "end-of-stream" in str(error)


def test_truncation_message_names_the_offset_and_chunk():
    cut = _chunk_ends()[1] + 5
    _, error = _read_until_error(DATA[:cut])
    assert str(error) == f"file ends at byte {cut} inside chunk 2: truncated"


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_every_single_byte_corruption_is_detected(mask):
    for position in range(len(DATA)):
        damaged = bytearray(DATA)
        damaged[position] ^= mask
        _, error = _read_until_error(bytes(damaged))
        assert error is not None, f"byte {position} ^ {mask:#x} went unnoticed"


def test_random_byte_values_are_detected():
    rng = np.random.default_rng(6)
    for _ in range(300):
        damaged = bytearray(DATA)
        position = int(rng.integers(len(DATA)))
        damaged[position] = (damaged[position] + int(rng.integers(1, 256))) % 256
        _, error = _read_until_error(bytes(damaged))
        assert error is not None


def test_corrupt_chunk_is_named_and_earlier_chunks_are_yielded():
    damaged = bytearray(DATA)
    damaged[_chunk_ends()[1] - 6] ^= 0x10  # inside chunk 1's payload
    chunks, error = _read_until_error(bytes(damaged))
    assert len(chunks) == 1
    assert str(error).startswith("chunk 1 at byte") and "is corrupt" in str(error)


def test_corrupt_header_is_named():
    damaged = bytearray(DATA)
    damaged[PREAMBLE.size + 3] ^= 0x01
    with pytest.raises(BitstreamError, match="header is corrupt"):
        RvqReader(io.BytesIO(bytes(damaged)))


def test_unsupported_version():
    with pytest.raises(BitstreamError, match="unsupported .rvq format version 4"):
        RvqReader(io.BytesIO(DATA[:4] + b"\x04" + DATA[5:]))


def test_trailing_garbage_is_detected():
    with pytest.raises(BitstreamError, match="after the end-of-stream record"):
        read_rvq(io.BytesIO(DATA + b"\x00"))


def test_dropped_or_repeated_chunk_is_detected():
    ends = _chunk_ends()
    first, second = DATA[ends[0] - (ends[1] - ends[0]) : ends[0]], DATA[ends[0] : ends[1]]
    assert len(first) == len(second)  # two 3-frame chunks: same size, each with a valid CRC
    swapped = DATA[: ends[0] - len(first)] + second + first + DATA[ends[1] :]
    repeated = DATA[: ends[1]] + second + DATA[ends[1] :]
    dropped = DATA[: ends[0]] + DATA[ends[1] :]
    for data in (swapped, repeated, dropped):
        with pytest.raises(BitstreamError, match="end-of-stream"):
            read_rvq(io.BytesIO(data))


def test_foreign_files_are_not_rvq(tmp_path):
    wav = tmp_path / "a.wav"
    soundfile.write(wav, np.zeros(1000, dtype=np.float32), 16000)
    cases = {
        FLAC: "FLAC",
        wav: "WAV",
        tmp_path / "empty.rvq": "empty",
        tmp_path / "random.rvq": "not an .rvq file",
    }
    (tmp_path / "empty.rvq").write_bytes(b"")
    (tmp_path / "random.rvq").write_bytes(np.random.default_rng(7).bytes(5000))
    for path, message in cases.items():
        with pytest.raises(BitstreamError, match=message) as info:
            read_rvq(path)
        assert "not an .rvq file" in str(info.value)


def test_missing_file_is_a_bitstream_error(tmp_path):
    with pytest.raises(BitstreamError, match="cannot open"):
        RvqReader(tmp_path / "nope.rvq")


def test_reader_can_be_iterated_only_once():
    reader = RvqReader(io.BytesIO(DATA))
    list(reader)
    with pytest.raises(BitstreamError, match="only once"):
        iter(reader)


def test_codes_beyond_a_non_power_of_two_codebook_are_rejected():
    header = make_header(codebook_size=1000, n_codebooks=1, chunk_frames=4)
    payload = pack_codes(np.array([5, 999, 1000, 7]), header.bits_per_code)  # 1000 fits in 10 bits
    data = (
        encode_preamble(header.to_json().encode())
        + encode_chunk(4, payload)
        + encode_end(RvqEnd(total_frames=4, original_length=None, n_chunks=1), crc32(payload))
    )
    with pytest.raises(BitstreamError, match="chunk 0 .* corrupt \\(code >= 1000\\)"):
        read_rvq(io.BytesIO(data))
