"""The public API: load a model, compress a file to ``.rvq``, decompress it back.

The main job's path, one way: ``audio`` streams and resamples the input ->
``inference`` encodes chunk by chunk -> ``bitstream`` writes each chunk as it comes ->
the file is renamed into place when complete. Decoding is the same path in reverse.
Nothing here mutates the model, and memory does not grow with the file's length.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from rvqgan.audio import AudioWriter, Resampler, audio_info, iter_audio_blocks, resampled_length
from rvqgan.bitstream import RvqHeader, RvqReader, RvqWriter
from rvqgan.checkpoint import load_model_file, model_hash
from rvqgan.errors import CheckpointError, RvqganError
from rvqgan.inference import decode_stream, encode_stream
from rvqgan.model import Codec
from rvqgan.models import DEFAULT_MODEL, bundled_path

PathLike = str | os.PathLike


@dataclass(frozen=True)
class CompressResult:
    """What :func:`compress` wrote.

    Attributes:
        path: the ``.rvq`` file.
        n_quantizers: codebooks kept.
        frames: code frames written.
        duration: seconds of audio coded.
        file_bytes: size of the file.
        bitrate: bits per second measured from the file's size (header included).
        nominal_bitrate: ``model.bitrate(n_quantizers)`` x channels.
    """

    path: Path
    n_quantizers: int
    frames: int
    duration: float
    file_bytes: int
    bitrate: float
    nominal_bitrate: float


@dataclass(frozen=True)
class DecompressResult:
    """What :func:`decompress` wrote: the audio file, its rate, channels and length in samples."""

    path: Path
    sample_rate: int
    channels: int
    length: int


def load_model(name_or_path: PathLike | None = None, *, fold: bool = False, device: str | None = None) -> Codec:
    """Load a bundled model by name, an rvqgan checkpoint, or an official DAC ``.pth`` file.

    Args:
        name_or_path: a name from :func:`available_models` (default ``"default"``) or a path.
        fold: fold weight normalization into plain weights (inference only).
        device: e.g. ``"cpu"`` or ``"cuda"``.

    Returns:
        The model in eval mode, with ``name`` and ``content_hash`` set.
    """
    target = DEFAULT_MODEL if name_or_path is None else name_or_path
    path = Path(target)
    if not path.is_file():
        text = str(target)
        looks_like_name = os.sep not in text and "/" not in text and not path.suffix
        if not looks_like_name:
            raise CheckpointError(f"model file not found: {path}")
        path = bundled_path(text)
    model = load_model_file(path, fold=fold)
    return model.to(device) if device else model


def _identity(model: Codec) -> tuple[str, str]:
    return model.name, model.content_hash or model_hash(model)


def compress(
    model: Codec,
    input_path: PathLike,
    output_path: PathLike,
    n_quantizers: int | None = None,
    *,
    overwrite: bool = False,
    device: str | None = None,
) -> CompressResult:
    """Compress an audio file (any format soundfile reads, any rate, any channels) to ``.rvq``.

    Each channel is coded as its own mono signal. The output appears only when complete.

    Raises:
        AudioError: unreadable, empty, NaN-holding input; BitstreamError: output exists
            without ``overwrite``; InputError: bad ``n_quantizers``.
    """
    n = model.quantizer.check_n_quantizers(n_quantizers)
    info = audio_info(input_path)
    name, content_hash = _identity(model)
    header = RvqHeader.from_codec(
        _Identity(model, name, content_hash),
        channels=info.channels,
        original_sample_rate=info.sample_rate,
        # MP3 headers may only estimate the length: then it goes in the end record alone.
        original_length=info.frames if info.frames and info.frames > 0 and info.format != "MP3" else None,
        n_codebooks=n,
    )
    blocks = iter_audio_blocks(input_path, model.sample_rate)
    counted = _Counter(blocks)
    frames = 0
    with RvqWriter(output_path, header, overwrite=overwrite) as writer:
        for codes in encode_stream(model, counted, n_quantizers=n, device=device):
            writer.write_chunk(codes)
            frames += codes.shape[-1]
        original_length = _original_length(counted.samples, info.frames, info.sample_rate, model.sample_rate)
        writer.close(original_length=original_length)
    path = Path(output_path)
    size = path.stat().st_size
    duration = original_length / info.sample_rate
    return CompressResult(
        path=path,
        n_quantizers=n,
        frames=frames,
        duration=duration,
        file_bytes=size,
        bitrate=8 * size / duration if duration else 0.0,
        nominal_bitrate=model.bitrate(n) * info.channels,
    )


def decompress(
    input_path: PathLike,
    output_path: PathLike,
    model: Codec | None = None,
    *,
    overwrite: bool = False,
    device: str | None = None,
) -> DecompressResult:
    """Decompress an ``.rvq`` file to audio at its original rate, length and channel count.

    Args:
        input_path: the ``.rvq`` file.
        output_path: ``.wav``, ``.flac``, ``.ogg``... (format from the suffix).
        model: the model that coded the file; ``None`` loads the bundled model the file
            names. A model whose weights differ from the file's is refused.

    Raises:
        BitstreamError: truncated, corrupt or foreign file (no output is left behind);
        CheckpointError: the model the file needs is not available or does not match.
    """
    with RvqReader(input_path) as reader:
        header = reader.header
        model = _model_for(header, model)
        original_length = header.original_length
        if original_length is None:
            original_length = _peek_length(reader)
        model_length = (
            None
            if original_length is None
            else resampled_length(original_length, header.original_sample_rate, model.sample_rate)
        )
        chunks = (torch.from_numpy(codes) for codes in reader)
        audio = decode_stream(model, chunks, length=model_length, device=device)
        resampler = Resampler(model.sample_rate, header.original_sample_rate, header.channels, length=original_length)
        with AudioWriter(output_path, header.original_sample_rate, header.channels, overwrite=overwrite) as writer:
            for block in audio:
                writer.write(resampler.process(block.numpy()))
            writer.write(resampler.flush())
            length = writer.frames_written
    return DecompressResult(Path(output_path), header.original_sample_rate, header.channels, length)


def _model_for(header: RvqHeader, model: Codec | None) -> Codec:
    """The model to decode ``header``'s codes: the one given, or the bundled one it names."""
    if model is None:
        try:
            model = load_model(header.model_name)
        except CheckpointError as exc:
            raise CheckpointError(
                f"this file was coded with model {header.model_name!r} (hash {header.model_hash[:16]}), "
                f"which is not bundled: pass the model (model=... or --model PATH). {exc}"
            ) from None
    name, content_hash = _identity(model)
    if content_hash != header.model_hash:
        raise CheckpointError(
            f"this file was coded with model {header.model_name!r} (hash {header.model_hash[:16]}) but the "
            f"model given is {name!r} (hash {content_hash[:16]}); decoding it would give wrong audio"
        )
    facts = ("sample_rate", "hop_length", "codebook_size")
    for fact in facts:
        if getattr(model, fact) != getattr(header, fact):
            raise CheckpointError(f"model {fact} {getattr(model, fact)} != file's {getattr(header, fact)}")
    if header.n_codebooks > model.n_codebooks:
        raise CheckpointError(f"the file has {header.n_codebooks} codebooks, the model only {model.n_codebooks}")
    return model


def _peek_length(reader: RvqReader) -> int | None:
    """Original length from the end record of a seekable file written as a stream."""
    try:
        end = reader.peek_end()
    except (RvqganError, OSError, AttributeError):
        return None
    return None if end is None else end.original_length


def _original_length(samples_at_model_rate: int, frames: int, file_rate: int, model_rate: int) -> int:
    """The input's length at its own rate; checked against what the stream delivered."""
    if frames is not None and frames >= 0 and resampled_length(frames, file_rate, model_rate) == samples_at_model_rate:
        return frames
    # MP3 headers may estimate their length; trust what was decoded.
    return resampled_length(samples_at_model_rate, model_rate, file_rate)


class _Counter:
    """Passes blocks [C, n] through and counts their samples."""

    def __init__(self, blocks) -> None:
        self.blocks = blocks
        self.samples = 0

    def __iter__(self):
        for block in self.blocks:
            self.samples += block.shape[-1]
            yield block


@dataclass(frozen=True)
class _Identity:
    """The codec facts a header needs, with the hash computed once."""

    model: Codec
    name: str
    content_hash: str

    def __getattr__(self, item: str):
        return getattr(self.model, item)
