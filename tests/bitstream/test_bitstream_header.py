"""The JSON header: exact round trip, strict validation, helpers."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from rvqgan.bitstream import FORMAT_VERSION, LoudnessInfo, RvqHeader, default_chunk_frames
from rvqgan.errors import BitstreamError
from tests.bitstream.helpers import make_header


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"original_length": 123456, "model_hash": None},
        {"loudness": LoudnessInfo(input_lufs=-31.5, gain_db=7.5), "channels": 2},
        {"loudness": LoudnessInfo(input_lufs=None, gain_db=0.0), "model_name": "модель ♪"},
        {"bandwidth_hz": 10800},
    ],
)
def test_json_round_trip_is_exact(overrides):
    header = make_header(**overrides)
    text = header.to_json()
    assert RvqHeader.from_json(text) == header
    assert RvqHeader.from_json(text.encode("utf-8")) == header
    assert json.loads(text)["format_version"] == FORMAT_VERSION


def test_derived_properties():
    header = make_header(n_codebooks=9, codebook_size=1024, channels=2)
    assert header.bits_per_code == 10
    assert header.frame_rate == pytest.approx(86.1328125)
    assert header.nominal_bitrate == pytest.approx(2 * 9 * 10 * 86.1328125)
    assert make_header(codebook_size=2).bits_per_code == 1
    assert make_header(codebook_size=1000).bits_per_code == 10  # not a power of two: rounded up
    assert make_header(codebook_size=1025).bits_per_code == 11


def _mutated(**changes) -> str:
    data = json.loads(make_header().to_json())
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"surprise": 1}, "unknown field"),
        ({"chunk_frames": ...}, "missing field"),
        ({"loudness": ...}, "missing field"),
        ({"n_codebooks": 0}, "n_codebooks"),
        ({"n_codebooks": True}, "n_codebooks"),
        ({"sample_rate": 44100.0}, "sample_rate"),
        ({"codebook_size": 1}, "codebook_size"),
        ({"codebook_size": 2**33}, "codebook_size"),
        ({"chunk_frames": 70000}, "chunk_frames"),
        ({"original_length": -1}, "original_length"),
        ({"model_name": ""}, "model_name"),
        ({"code_layout": "tkc"}, "code_layout"),
        ({"format_version": 4}, "unsupported .rvq format version 4"),
        ({"bandwidth_hz": ...}, "missing field"),
        ({"bandwidth_hz": 0}, "bandwidth_hz"),
        ({"bandwidth_hz": 22050}, "bandwidth_hz"),  # at Nyquist: nothing to signal
        ({"bandwidth_hz": 8000.5}, "bandwidth_hz"),
        ({"format_version": 2}, "unknown field"),  # a version 2 header has no bandwidth_hz
        ({"loudness": {"gain_db": 1.0}}, "loudness"),
        ({"loudness": {"input_lufs": -20.0, "gain_db": "loud"}}, "gain_db"),
    ],
)
def test_invalid_headers_raise_bitstream_error(changes, message):
    with pytest.raises(BitstreamError, match=message):
        RvqHeader.from_json(_mutated(**changes))


@pytest.mark.parametrize("text", ["", "[1, 2]", "{", b"\xff\xfe", '{"gain_db": NaN}'])
def test_non_json_or_non_object_raises(text):
    with pytest.raises(BitstreamError):
        RvqHeader.from_json(text)


def test_direct_construction_is_validated_too():
    with pytest.raises(BitstreamError, match="hop_length"):
        make_header(hop_length=0)
    with pytest.raises(BitstreamError, match="smaller chunk_frames"):
        make_header(n_codebooks=4096, channels=64, chunk_frames=65535)


def test_from_codec_uses_the_model_identity():
    codec = SimpleNamespace(
        name="dac_44khz",
        content_hash="abc",
        sample_rate=44100,
        hop_length=512,
        n_codebooks=9,
        codebook_size=1024,
        frame_rate=44100 / 512,
    )
    header = RvqHeader.from_codec(codec, channels=2, original_sample_rate=48000, original_length=480000, n_codebooks=6)
    assert (header.model_name, header.model_hash, header.n_codebooks, header.channels) == ("dac_44khz", "abc", 6, 2)
    assert header.chunk_frames == default_chunk_frames(44100 / 512) == 176
    assert header.tool_version.startswith("rvqgan")


def test_default_chunk_frames_is_about_two_seconds_in_multiples_of_eight():
    for frame_rate in (44100 / 512, 24000 / 320, 16000 / 320, 12.5):
        frames = default_chunk_frames(frame_rate)
        assert frames % 8 == 0
        assert abs(frames / frame_rate - 2.0) <= 4 / frame_rate + 1e-9
    assert default_chunk_frames(0.01) == 8


def test_older_versions_are_written_and_read_without_the_newer_fields():
    for version, absent in ((1, {"entropy", "bandwidth_hz"}), (2, {"bandwidth_hz"})):
        old = make_header(format_version=version)
        data = json.loads(old.to_json())
        assert not absent & set(data) and data["format_version"] == version
        assert RvqHeader.from_json(old.to_json()) == old
    with pytest.raises(BitstreamError, match="version 3"):
        make_header(format_version=2, bandwidth_hz=8000)
