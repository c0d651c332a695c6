"""Payload byte counts of the files the baseline encoders write.

Bitrates are reported from the bytes an encoder actually produced, counting the coded
audio and leaving out the container around it, so that codecs are compared on what they
spend on sound:

* Ogg Opus: the sizes of the Opus packets (each with its TOC byte), read from the Ogg
  segment tables. Left out: the 27-byte page headers and lacing tables, and the two
  header packets ``OpusHead`` and ``OpusTags``.
* MP3: the MPEG audio frames, each whole (4-byte frame header, side information, main
  data, padding byte). Left out: ID3v2 / ID3v1 / APE tags and the Xing/Info (LAME)
  frame, which holds seek and gapless metadata and no audio.
* ``.rvq``: the packed codes of each chunk; left out: the JSON header, the 11-byte chunk
  headers and CRCs and the end record (see ``rvqgan.bitstream.layout``).
"""

from __future__ import annotations

import struct

from rvqgan.errors import AudioError

_OGG_PAGE = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, seq, crc, n_segments


def ogg_packet_sizes(data: bytes) -> list[int]:
    """Sizes of the logical packets of a single-stream Ogg file, in order.

    A packet is a run of lacing values ending with one below 255; it may continue onto
    the next page, so sizes are carried across page boundaries.
    """
    sizes: list[int] = []
    current = 0
    pos = 0
    while pos < len(data):
        if pos + _OGG_PAGE.size > len(data):
            raise AudioError(f"truncated Ogg page header at byte {pos}")
        capture, _version, _flags, _granule, _serial, _seq, _crc, n_segments = _OGG_PAGE.unpack_from(data, pos)
        if capture != b"OggS":
            raise AudioError(f"not an Ogg page at byte {pos} (no 'OggS' capture pattern)")
        table_start = pos + _OGG_PAGE.size
        lacing = data[table_start : table_start + n_segments]
        if len(lacing) != n_segments:
            raise AudioError(f"truncated Ogg segment table at byte {table_start}")
        for value in lacing:
            current += value
            if value < 255:
                sizes.append(current)
                current = 0
        pos = table_start + n_segments + sum(lacing)
    if pos != len(data):
        raise AudioError("truncated Ogg page body at the end of the file")
    return sizes


def opus_payload_bytes(data: bytes) -> int:
    """Bytes of the Opus audio packets of an Ogg Opus file (headers and pages excluded)."""
    sizes = ogg_packet_sizes(data)
    if len(sizes) < 2:
        raise AudioError("an Ogg Opus stream needs OpusHead and OpusTags packets; this one is too short")
    return sum(sizes[2:])


# MPEG audio: bitrates in kbps by (version is MPEG-1, layer III) and index.
_MP3_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _id3v2_size(data: bytes, pos: int) -> int:
    if data[pos : pos + 3] != b"ID3" or pos + 10 > len(data):
        return 0
    size = 0
    for byte in data[pos + 6 : pos + 10]:  # "syncsafe" integer: 7 bits per byte
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if data[pos + 5] & 0x10 else 0
    return 10 + size + footer


def mp3_frames(data: bytes) -> list[tuple[int, int]]:
    """``(offset, length)`` of each MPEG-1/2/2.5 layer III frame of an MP3 file.

    ID3v2 tags are skipped; parsing stops at an ID3v1 ``TAG`` or APE tag, or at the end.
    """
    pos = _id3v2_size(data, 0)
    frames: list[tuple[int, int]] = []
    while pos + 4 <= len(data):
        if data[pos : pos + 3] == b"TAG" or data[pos : pos + 8] == b"APETAGEX":
            break
        header = int.from_bytes(data[pos : pos + 4], "big")
        version = (header >> 19) & 3
        layer = (header >> 17) & 3
        bitrate_index = (header >> 12) & 15
        rate_index = (header >> 10) & 3
        if header >> 21 != 0x7FF or version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
            raise AudioError(f"not an MPEG layer III frame at byte {pos} of the MP3 stream")
        padding = (header >> 9) & 1
        sample_rate = _MP3_RATES[version][rate_index]
        if version == 3:
            length = 144_000 * _MP3_BITRATES_V1[bitrate_index] // sample_rate + padding
        else:
            length = 72_000 * _MP3_BITRATES_V2[bitrate_index] // sample_rate + padding
        if pos + length > len(data):
            raise AudioError(f"truncated MP3 frame at byte {pos}")
        frames.append((pos, length))
        pos += length
    return frames


def mp3_payload_bytes(data: bytes) -> int:
    """Bytes of the MP3 audio frames (tags and the Xing/Info metadata frame excluded)."""
    frames = mp3_frames(data)
    if not frames:
        raise AudioError("the MP3 stream holds no audio frame")
    first_offset, first_length = frames[0]
    first = data[first_offset : first_offset + first_length]
    # The Xing/Info frame is a valid-looking silent frame whose body starts with a tag.
    if b"Xing" in first or b"Info" in first:
        frames = frames[1:]
    return sum(length for _, length in frames)
