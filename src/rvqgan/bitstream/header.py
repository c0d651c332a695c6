"""The JSON header of an ``.rvq`` file: everything needed to decode the codes that follow.

The header is a frozen dataclass, written as compact UTF-8 JSON with sorted keys. Reading
is strict: unknown or missing fields, wrong types and impossible values raise
:class:`~rvqgan.errors.BitstreamError`, because a header we do not fully understand
cannot be decoded safely (a later format version bumps ``format_version`` instead of
slipping new fields in). Version 2 added ``entropy`` (``null`` for files whose chunks
are all raw); version 3 added ``bandwidth_hz`` (``null`` when nothing is signalled). A
header of an older version has neither field and is still read.

Code layout ``"ckt-msb"``: the codes of one chunk form an array of shape
``[channels, n_codebooks, n_frames]``; it is flattened in C order (channel-major, then
codebook, then frame, so index ``(c * K + k) * n + t``) and each code is written in
``bits_per_code`` bits, most significant bit first.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from typing import Any

from rvqgan.bitstream.layout import FORMAT_VERSION, MAX_CHUNK_FRAMES, READ_VERSIONS
from rvqgan.bitstream.packing import MAX_BITS, packed_size
from rvqgan.errors import BitstreamError

CODE_LAYOUT = "ckt-msb"

# About 2 s of codes per chunk (176 frames at 44.1 kHz / hop 512): the 11-byte chunk
# overhead is then 0.57% of a 9 x 10-bit stream, while the audio lost to one damaged
# chunk, and the granularity of a streamed file (see RvqWriter.flush), stay short.
DEFAULT_CHUNK_SECONDS = 2.0
# Chunk lengths are multiples of 8 frames, so a full chunk packs to whole bytes for any
# bits per code and wastes no padding.
CHUNK_FRAME_MULTIPLE = 8

# A chunk's payload is read whole; this bounds the memory a (hostile) header can ask for.
MAX_CHUNK_PAYLOAD = 1 << 28


def default_chunk_frames(frame_rate: float, seconds: float = DEFAULT_CHUNK_SECONDS) -> int:
    """Frames per chunk for about ``seconds`` of codes at ``frame_rate`` frames/s.

    Rounded to a multiple of 8 frames: 176 at 86.13 frames/s, 152 at 75, 96 at 50.
    """
    blocks = max(1, round(seconds * frame_rate / CHUNK_FRAME_MULTIPLE))
    return min(MAX_CHUNK_FRAMES - MAX_CHUNK_FRAMES % CHUNK_FRAME_MULTIPLE, blocks * CHUNK_FRAME_MULTIPLE)


def tool_version() -> str:
    """``"rvqgan <version>"`` of the installed package, recorded in each file's header."""
    try:
        return f"rvqgan {metadata.version('rvqgan')}"
    except metadata.PackageNotFoundError:
        return "rvqgan (not installed)"


def _fail(message: str) -> None:
    raise BitstreamError(f"invalid .rvq header: {message}")


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        _fail(f"{name} must be in [{low}, {high if high is not None else 'inf'}], got {value}")


def _check_number(name: str, value: Any, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(f"{name} must be a finite number, got {value!r}")


def _check_str(name: str, value: Any, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        _fail(f"{name} must be a non-empty string, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class LoudnessInfo:
    """Loudness normalisation applied before encoding, so that decoding can undo it.

    Attributes:
        input_lufs: integrated loudness of the input in LUFS, ``None`` when it was
            undefined (silence).
        gain_db: gain applied to the input before encoding; decode applies ``-gain_db``.
    """

    input_lufs: float | None
    gain_db: float

    def __post_init__(self) -> None:
        _check_number("loudness.input_lufs", self.input_lufs, optional=True)
        _check_number("loudness.gain_db", self.gain_db)


ENTROPY_CODINGS = ("static", "lm")


@dataclass(frozen=True, kw_only=True)
class EntropyInfo:
    """Which entropy model coded the file's coded chunks (format version 2).

    Attributes:
        coding: ``"static"`` (per-codebook frequency tables) or ``"lm"`` (the code
            language model). Each chunk still says its own coding; a chunk that coding
            would not shrink is stored raw.
        model_name: the entropy model's name, for messages.
        model_hash: its content hash; decoding needs exactly this model.
    """

    coding: str
    model_name: str
    model_hash: str

    def __post_init__(self) -> None:
        if self.coding not in ENTROPY_CODINGS:
            _fail(f"entropy.coding must be one of {list(ENTROPY_CODINGS)}, got {self.coding!r}")
        _check_str("entropy.model_name", self.model_name)
        _check_str("entropy.model_hash", self.model_hash)


@dataclass(frozen=True, kw_only=True)
class RvqHeader:
    """Header of an ``.rvq`` file.

    Attributes:
        model_name: name of the model that wrote the codes (needed to decode them).
        model_hash: content hash of that model's weights, ``None`` if unknown.
        sample_rate: the model's sample rate in Hz.
        hop_length: samples per frame at the model's rate.
        n_codebooks: codebooks stored per frame (``K``; may be fewer than the model has).
        codebook_size: entries per codebook; codes take ``bits_per_code`` bits each.
        channels: audio channels, each coded separately.
        original_sample_rate: sample rate of the input audio in Hz.
        original_length: input length in samples at ``original_sample_rate``; ``None``
            when it was unknown when the header was written (streaming), in which case
            the end-of-stream record carries it.
        chunk_frames: maximum frames per chunk (see :func:`default_chunk_frames`).
        loudness: loudness normalisation applied before encoding, or ``None``.
        entropy: the entropy model of the coded chunks, ``None`` when every chunk is
            raw (always ``None`` in version 1).
        bandwidth_hz: the input's audio bandwidth as the encoder measured it (version 3,
            :mod:`rvqgan.audio.bandwidth`): the decoder low-passes its output there.
            ``None``: full-band, silent, streamed or not measured; nothing is filtered.
        code_layout: order of codes in a chunk payload; only ``"ckt-msb"`` exists.
        tool_version: the program that wrote the file.
        format_version: version of the file format.
    """

    model_name: str
    model_hash: str | None
    sample_rate: int
    hop_length: int
    n_codebooks: int
    codebook_size: int
    channels: int
    original_sample_rate: int
    original_length: int | None
    chunk_frames: int
    loudness: LoudnessInfo | None = None
    entropy: EntropyInfo | None = None
    bandwidth_hz: int | None = None
    code_layout: str = CODE_LAYOUT
    tool_version: str = field(default_factory=tool_version)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        _check_int("format_version", self.format_version, 1)
        if self.format_version not in READ_VERSIONS:
            raise BitstreamError(
                f"unsupported .rvq format version {self.format_version} (this rvqgan reads versions "
                f"{', '.join(map(str, READ_VERSIONS))}); upgrade rvqgan to read this file"
            )
        if self.entropy is not None and not isinstance(self.entropy, EntropyInfo):
            _fail(f"entropy must be an EntropyInfo or None, got {type(self.entropy).__name__}")
        if self.entropy is not None and self.format_version < 2:
            _fail("entropy coding needs format version 2")
        if self.bandwidth_hz is not None:
            if self.format_version < 3:
                _fail("bandwidth_hz needs format version 3")
            _check_int("bandwidth_hz", self.bandwidth_hz, 1, max(1, (self.sample_rate - 1) // 2))
        _check_str("model_name", self.model_name)
        _check_str("model_hash", self.model_hash, optional=True)
        _check_str("tool_version", self.tool_version)
        for name in ("sample_rate", "hop_length", "n_codebooks", "channels", "original_sample_rate"):
            _check_int(name, getattr(self, name), 1)
        _check_int("codebook_size", self.codebook_size, 2, 1 << MAX_BITS)
        _check_int("chunk_frames", self.chunk_frames, 1, MAX_CHUNK_FRAMES)
        if self.original_length is not None:
            _check_int("original_length", self.original_length, 0, (1 << 63) - 1)
        if self.code_layout != CODE_LAYOUT:
            _fail(f"code_layout {self.code_layout!r} is unknown (expected {CODE_LAYOUT!r})")
        if self.loudness is not None and not isinstance(self.loudness, LoudnessInfo):
            _fail(f"loudness must be a LoudnessInfo or None, got {type(self.loudness).__name__}")
        if self.chunk_payload_bytes(self.chunk_frames) > MAX_CHUNK_PAYLOAD:
            _fail(
                f"a chunk of {self.chunk_frames} frames would hold {self.chunk_payload_bytes(self.chunk_frames)} "
                f"bytes, more than {MAX_CHUNK_PAYLOAD}; use a smaller chunk_frames"
            )

    @property
    def bits_per_code(self) -> int:
        """Bits per stored code: ``ceil(log2(codebook_size))`` (10 for 1024 entries)."""
        return (self.codebook_size - 1).bit_length()

    @property
    def frame_rate(self) -> float:
        """Frames per second at the model's rate."""
        return self.sample_rate / self.hop_length

    @property
    def nominal_bitrate(self) -> float:
        """Bits per second of the packed codes alone (all channels, no container overhead)."""
        return self.channels * self.n_codebooks * self.bits_per_code * self.frame_rate

    def chunk_payload_bytes(self, n_frames: int) -> int:
        """Payload bytes of a raw-packed chunk of ``n_frames`` frames."""
        return packed_size(self.channels * self.n_codebooks * n_frames, self.bits_per_code)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``loudness``/``entropy`` as nested dicts or ``None``).

        Older versions lack the keys they did not have (``entropy`` before version 2,
        ``bandwidth_hz`` before 3), exactly as they wrote them.
        """
        data = asdict(self)
        for key in _added_after(self.format_version):
            del data[key]
        return data

    def to_json(self) -> str:
        """Compact JSON text with sorted keys (the exact bytes written to files)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Any) -> RvqHeader:
        """Build and validate a header from a parsed JSON object."""
        if not isinstance(data, dict):
            _fail(f"expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)} - set(_added_after(data.get("format_version")))
        unknown = sorted(set(data) - set(known))
        if unknown:
            _fail(f"unknown field(s) {unknown}; the file was written by a newer or foreign program")
        # Every writer writes every field, so a missing one (even one with a default
        # here) means a damaged or foreign header rather than something to guess.
        missing = sorted(set(known) - set(data))
        if missing:
            _fail(f"missing field(s) {missing}")
        values = dict(data)
        loudness = values.get("loudness")
        if loudness is not None:
            values["loudness"] = _loudness_from_dict(loudness)
        entropy = values.get("entropy")
        if entropy is not None:
            values["entropy"] = _entropy_from_dict(entropy)
        return cls(**values)

    @classmethod
    def from_json(cls, text: str | bytes) -> RvqHeader:
        """Parse header JSON (text or UTF-8 bytes); any problem raises BitstreamError."""
        try:
            if isinstance(text, (bytes, bytearray)):
                text = bytes(text).decode("utf-8")
            data = json.loads(text, parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BitstreamError(f"invalid .rvq header: not valid UTF-8 JSON ({exc})") from None
        return cls.from_dict(data)

    @classmethod
    def from_codec(
        cls,
        codec: Any,
        *,
        channels: int,
        original_sample_rate: int,
        original_length: int | None,
        n_codebooks: int | None = None,
        chunk_frames: int | None = None,
        loudness: LoudnessInfo | None = None,
        entropy: EntropyInfo | None = None,
        bandwidth_hz: int | None = None,
    ) -> RvqHeader:
        """Header for codes made by ``codec`` (any object with the ``Codec`` attributes).

        Args:
            codec: provides ``name``, ``content_hash``, ``sample_rate``, ``hop_length``,
                ``n_codebooks``, ``codebook_size`` and ``frame_rate``.
            channels: audio channels coded.
            original_sample_rate: input sample rate in Hz.
            original_length: input length in samples, or ``None`` if not yet known.
            n_codebooks: codebooks kept (default: all of the model's).
            chunk_frames: frames per chunk (default: :func:`default_chunk_frames`).
            loudness: normalisation applied before encoding, if any.
            entropy: the entropy model that codes the chunks, if any.
            bandwidth_hz: the input's measured bandwidth, if the decoder is to low-pass.
        """
        return cls(
            model_name=codec.name,
            model_hash=codec.content_hash,
            sample_rate=int(codec.sample_rate),
            hop_length=int(codec.hop_length),
            n_codebooks=int(codec.n_codebooks if n_codebooks is None else n_codebooks),
            codebook_size=int(codec.codebook_size),
            channels=channels,
            original_sample_rate=original_sample_rate,
            original_length=original_length,
            chunk_frames=chunk_frames if chunk_frames is not None else default_chunk_frames(codec.frame_rate),
            loudness=loudness,
            entropy=entropy,
            bandwidth_hz=bandwidth_hz,
        )


# The header fields each format version added, for reading and writing older versions.
_ADDED_IN = {"entropy": 2, "bandwidth_hz": 3}


def _added_after(version: Any) -> tuple[str, ...]:
    """The fields a header of ``version`` does not have (none for an unknown version)."""
    if isinstance(version, bool) or not isinstance(version, int):
        return ()
    return tuple(name for name, added in _ADDED_IN.items() if version < added)


def _entropy_from_dict(data: Any) -> EntropyInfo:
    if not isinstance(data, dict) or set(data) != {"coding", "model_name", "model_hash"}:
        _fail(f"entropy must be null or an object with coding, model_name and model_hash, got {data!r}")
    return EntropyInfo(**data)


def _loudness_from_dict(data: Any) -> LoudnessInfo:
    if not isinstance(data, dict) or set(data) != {"input_lufs", "gain_db"}:
        _fail(f"loudness must be null or an object with input_lufs and gain_db, got {data!r}")
    return LoudnessInfo(input_lufs=data["input_lufs"], gain_db=data["gain_db"])


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")
