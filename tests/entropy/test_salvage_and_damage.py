"""Damaged entropy-coded files: a clear error or the right codes, never anything else;
salvage loses at most the damaged chunk and says what it lost."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import rvqgan
from rvqgan.bitstream import RvqHeader, RvqReader, RvqWriter, salvage_rvq
from rvqgan.bitstream.layout import CHUNK_HEAD
from rvqgan.entropy import decoder_for
from rvqgan.errors import BitstreamError, CheckpointError
from rvqgan.inference import decoder_context
from tests.conftest import REAL_CLIP


@pytest.fixture(scope="module")
def lm_file(codec_dir, tmp_path_factory):
    import torch

    from rvqgan.audio import read_audio
    from rvqgan.entropy.selection import coder_for
    from rvqgan.inference import encode_long

    folder = tmp_path_factory.mktemp("damage")
    model = rvqgan.load_model(codec_dir / "tiny.safetensors")
    # 1.5 s in short chunks (16 frames): many chunks, quick to decode.
    header_args = {"chunk_frames": 16}
    audio, _ = read_audio(REAL_CLIP, model.sample_rate)
    audio = audio[:, 22050:88200]
    with torch.no_grad():
        codes = encode_long(model, torch.from_numpy(audio)).numpy()
    coder, info = coder_for(model, "lm", codes.shape[0], codes.shape[1])
    header = RvqHeader.from_codec(
        model,
        channels=codes.shape[0],
        original_sample_rate=model.sample_rate,
        original_length=audio.shape[1],
        entropy=info,
        **header_args,
    )
    path = folder / "lm.rvq"
    with RvqWriter(path, header, chunk_coder=coder) as writer:
        writer.write_chunk(codes)
    assert writer.kind_counts.get(3, 0) >= 3  # mostly LM-coded chunks
    return path, model, codes


def _chunk_offsets(path) -> list[tuple[int, int, int]]:
    """(offset, start_frame, n_frames) of each chunk record."""
    with RvqReader(path) as reader:
        return [(r.offset, r.start_frame, r.n_frames) for r in reader.records()]


def _strict_codes(data: bytes, model) -> np.ndarray:
    import io

    with RvqReader(io.BytesIO(data)) as reader:
        reader.chunk_decoder = decoder_for(reader.header, model)
        return np.concatenate(list(reader), axis=2)


def test_random_mutations_give_a_clear_error_or_the_right_codes(lm_file):
    path, model, codes = lm_file
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"error": 0, "same": 0}
    for _ in range(60):
        damaged = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            damaged[int(rng.integers(0, len(data)))] ^= int(rng.integers(1, 256))
        try:
            got = _strict_codes(bytes(damaged), model)
        except (BitstreamError, CheckpointError):
            outcomes["error"] += 1
            continue
        np.testing.assert_array_equal(got, codes)  # only possible if the flips cancelled out
        outcomes["same"] += 1
    assert outcomes["error"] > 40


def test_random_mutations_never_break_salvage(lm_file):
    path, _, _ = lm_file
    data = path.read_bytes()
    header_size = RvqReader(path).header_size
    rng = np.random.default_rng(1)
    for _ in range(60):
        damaged = bytearray(data)
        damaged[int(rng.integers(header_size, len(data)))] ^= int(rng.integers(1, 256))
        found = salvage_rvq(bytes(damaged))
        assert found.frames_read + sum(s.n_frames or 0 for s in found.lost) >= codes_frames(found)


def codes_frames(found) -> int:
    return max([r.start_frame + r.n_frames for r in found.records] + [0])


@pytest.mark.parametrize("where", ["payload", "length_field"])
def test_salvage_loses_only_the_damaged_chunk(lm_file, tmp_path, where):
    path, model, _codes = lm_file
    chunks = _chunk_offsets(path)
    offset, start, frames = chunks[3]
    data = bytearray(path.read_bytes())
    if where == "payload":
        data[offset + CHUNK_HEAD.size + 3] ^= 0x5A
    else:  # a damaged length sends a naive reader anywhere: salvage resynchronises
        data[offset + CHUNK_HEAD.size - 2] ^= 0x01
    (tmp_path / "bad.rvq").write_bytes(bytes(data))
    with pytest.raises(BitstreamError, match="chunk 3"):
        rvqgan.decompress(tmp_path / "bad.rvq", tmp_path / "strict.wav", model)
    found = salvage_rvq(tmp_path / "bad.rvq")
    assert [(s.start_frame, s.n_frames) for s in found.lost] == [(start, frames)]
    assert len(found.records) == len(chunks) - 1

    result = rvqgan.decompress(tmp_path / "bad.rvq", tmp_path / "salvaged.wav", model, salvage=True)
    hop, rate = model.hop_length, model.sample_rate
    assert result.lost == ((start * hop / rate, (start + frames) * hop / rate),)
    assert result.problems
    rvqgan.decompress(path, tmp_path / "clean.wav", model)
    salvaged, _ = sf.read(tmp_path / "salvaged.wav", dtype="float32", always_2d=True)
    clean, _ = sf.read(tmp_path / "clean.wav", dtype="float32", always_2d=True)
    assert salvaged.shape == clean.shape  # the original length, channels and rate
    lost = slice(start * hop, (start + frames) * hop)
    assert np.all(salvaged[lost] == 0)  # the lost span is silence
    # Decoding stops at the gap: only the decoder's reach around it differs.
    context = decoder_context(model)
    margin = (context.left + context.right) * hop
    np.testing.assert_allclose(salvaged[: start * hop - margin], clean[: start * hop - margin], atol=1e-4)
    np.testing.assert_allclose(
        salvaged[(start + frames) * hop + margin :], clean[(start + frames) * hop + margin :], atol=1e-4
    )


def test_salvage_of_an_intact_file_reports_nothing(lm_file, tmp_path):
    path, model, _ = lm_file
    result = rvqgan.decompress(path, tmp_path / "a.wav", model, salvage=True)
    rvqgan.decompress(path, tmp_path / "b.wav", model)
    assert result.lost == () and result.problems == ()
    np.testing.assert_array_equal(sf.read(tmp_path / "a.wav")[0], sf.read(tmp_path / "b.wav")[0])


def test_salvage_of_a_truncated_file_fills_to_the_original_length(lm_file, tmp_path):
    path, model, _ = lm_file
    chunks = _chunk_offsets(path)
    (tmp_path / "cut.rvq").write_bytes(path.read_bytes()[: chunks[-2][0] + 5])
    result = rvqgan.decompress(tmp_path / "cut.rvq", tmp_path / "cut.wav", model, salvage=True)
    assert result.length == RvqReader(path).header.original_length
    start = chunks[-2][1] * model.hop_length / model.sample_rate
    assert result.lost[-1][0] == pytest.approx(start)
    assert any("truncated" in p for p in result.problems)


def test_damaged_header_cannot_be_salvaged(lm_file, tmp_path):
    path, model, _ = lm_file
    data = bytearray(path.read_bytes())
    data[12] ^= 0xFF
    (tmp_path / "h.rvq").write_bytes(bytes(data))
    with pytest.raises(BitstreamError, match="header"):
        rvqgan.decompress(tmp_path / "h.rvq", tmp_path / "h.wav", model, salvage=True)


@pytest.mark.parametrize("where", ["payload", "length_field"])
def test_version_1_salvage_finds_the_lost_frames(where):
    import io

    from rvqgan.bitstream.layout import CHUNK_HEAD_V1
    from tests.bitstream.helpers import make_header, random_codes

    header = make_header(format_version=1, chunk_frames=5, original_length=None)
    codes = random_codes(np.random.default_rng(0), header, 23)  # chunks of 5, 5, 5, 5, 3 frames
    sink = io.BytesIO()
    with RvqWriter(sink, header) as writer:
        writer.write_chunk(codes)
    data = bytearray(sink.getvalue())
    with RvqReader(io.BytesIO(bytes(data))) as reader:
        offsets = [r.offset for r in reader.records()]
    if where == "payload":
        data[offsets[1] + CHUNK_HEAD_V1.size + 2] ^= 0x10
    else:
        data[offsets[1] + 4] ^= 0x40  # payload_len: the record's size is unknown now
    found = salvage_rvq(bytes(data))
    assert [(s.start_frame, s.n_frames) for s in found.lost] == [(5, 5)]
    assert [r.start_frame for r in found.records] == [0, 10, 15, 20]
