"""Baselines through the real encoders: measured bitrate, alignment, quality ordering."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from rvqgan.errors import AudioError, ConfigError
from rvqgan.eval.baselines import Mp3Codec, OpusCodec, mp3_sample_rate
from rvqgan.eval.codecs import align, find_delay
from rvqgan.eval.containers import mp3_payload_bytes, ogg_packet_sizes, opus_payload_bytes
from rvqgan.eval.metrics import MetricSuite
from tests.eval.conftest import needs_ffmpeg


@pytest.fixture(scope="module")
def opus_run(piano):
    audio, rate = piano
    codec = OpusCodec([6, 24])
    return {c.setting.value: c for c in codec.code(audio, rate, codec.settings).coded}


@needs_ffmpeg
def test_opus_24_beats_opus_6_on_every_metric(piano, opus_run):
    audio, rate = piano
    suite = MetricSuite(rate, visqol=False)
    low, high = (suite(audio, opus_run[k].audio, "music") for k in (6, 24))
    assert high["mel"] < low["mel"]
    assert high["stft"] < low["stft"]
    assert high["sisdr"] > low["sisdr"] + 10


@needs_ffmpeg
@pytest.mark.parametrize("kbps", [6, 24])
def test_opus_measured_bitrate_matches_the_setting(piano, opus_run, kbps):
    audio, rate = piano
    coded = opus_run[kbps]
    measured = coded.payload_bytes * 8 / (audio.shape[0] / rate) / 1000
    # Hard CBR: every 20 ms packet is the same size; one extra packet for the pre-skip.
    assert measured == pytest.approx(kbps, rel=0.03)
    assert coded.file_bytes > coded.payload_bytes  # Ogg pages and headers are left out
    assert coded.audio.shape == audio.shape
    assert abs(coded.delay) < 100  # libopus removes the pre-skip; only resampling jitter remains


@needs_ffmpeg
def test_mp3_32_keeps_44khz_and_its_measured_bitrate_matches(piano):
    audio, rate = piano
    codec = Mp3Codec([32, 16])
    assert [(s.label, s.sample_rate) for s in codec.settings] == [("16kbps", 16000), ("32kbps", 44100)]
    coded = {c.setting.value: c for c in codec.code(audio, rate, codec.settings).coded}
    for kbps in (16, 32):
        measured = coded[kbps].payload_bytes * 8 / (audio.shape[0] / rate) / 1000
        assert measured == pytest.approx(kbps, rel=0.05)  # + LAME's delay/padding frames on 2.8 s
        assert coded[kbps].audio.shape == audio.shape
    suite = MetricSuite(rate, visqol=False)
    assert suite(audio, coded[32].audio)["mel"] < suite(audio, coded[16].audio)["mel"]


def test_mp3_rate_table_and_impossible_settings():
    assert mp3_sample_rate(32) == 44100 and mp3_sample_rate(8) == 8000 and mp3_sample_rate(16, 22050) == 22050
    with pytest.raises(ConfigError, match="cannot code"):
        mp3_sample_rate(16, 44100)
    with pytest.raises(ConfigError):
        OpusCodec([4])


def test_alignment_recovers_a_known_delay(piano):
    audio, _ = piano
    for lag in (1152, -37, 0):
        shifted = np.concatenate([np.zeros(lag, np.float32), audio]) if lag >= 0 else audio[-lag:]
        assert find_delay(audio, shifted, 2048) == lag
        aligned, found = align(audio, shifted, 2048)
        assert found == lag and aligned.shape == audio.shape
        overlap = slice(max(-lag, 0), None)  # the first -lag samples were cut off the input
        np.testing.assert_array_equal(aligned[overlap], audio[overlap])


def _ogg_page(body_packets: list[bytes], continued: bool = False, last_open: bool = False) -> bytes:
    lacing = []
    for index, packet in enumerate(body_packets):
        lacing += [255] * (len(packet) // 255)
        if not (last_open and index == len(body_packets) - 1):
            lacing.append(len(packet) % 255)
    head = struct.pack("<4sBBqIIIB", b"OggS", 0, 1 if continued else 0, 0, 1, 0, 0, len(lacing))
    return head + bytes(lacing) + b"".join(body_packets)


def test_ogg_packets_are_counted_across_pages():
    # OpusHead (19), OpusTags (30), then a 600-byte packet split 510 + 90 over two pages.
    big = bytes(600)
    data = _ogg_page([bytes(19)]) + _ogg_page([bytes(30)]) + _ogg_page([big[:510]], last_open=True)
    data += _ogg_page([big[510:], bytes(15)], continued=True)
    assert ogg_packet_sizes(data) == [19, 30, 600, 15]
    assert opus_payload_bytes(data) == 615
    with pytest.raises(AudioError):
        ogg_packet_sizes(data[:-3])
    with pytest.raises(AudioError):
        ogg_packet_sizes(b"RIFF" + data[4:])


def test_mp3_frames_are_counted_without_tags():
    # MPEG-1 layer III, 32 kbps, 44.1 kHz, no padding: 144000 * 32 / 44100 = 104 bytes.
    frame = (0xFFFB1000).to_bytes(4, "big") + bytes(100)
    info = (0xFFFB1000).to_bytes(4, "big") + bytes(32) + b"Info" + bytes(64)
    id3 = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10)
    data = id3 + info + frame * 5 + b"TAG" + bytes(125)
    assert mp3_payload_bytes(data) == 5 * 104
    with pytest.raises(AudioError):
        mp3_payload_bytes(id3 + bytes(200))
