"""The public API: load a model, compress a file to ``.rvq``, decompress it back.

The main job's path, one way: ``audio`` streams and resamples the input ->
``inference`` encodes chunk by chunk -> ``bitstream`` writes each chunk as it comes ->
the file is renamed into place when complete. Decoding is the same path in reverse.
Nothing here mutates the model, and memory does not grow with the file's length.

Entropy coding (``compress(..., entropy="static"|"lm")``) codes each chunk with the
codec's static tables or code LM, found beside its checkpoint by :func:`load_model`;
``decompress`` reads the coding from the file's header and refuses an entropy model
other than the one that coded it. ``decompress(..., salvage=True)`` decodes a damaged
file's intact chunks and puts silence of the right length where chunks were lost.

Bandwidth signalling (:mod:`rvqgan.audio.bandwidth`): ``compress`` measures the input's
audio bandwidth in a first pass and writes it in the header; ``decompress`` low-passes the
decoded audio there, so that a band-limited recording does not come back with a hiss
above its band.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from rvqgan.audio import AudioWriter, Resampler, audio_info, iter_audio_blocks, resampled_length
from rvqgan.audio.bandwidth import BandLimiter, BandwidthMeter
from rvqgan.bitstream import KIND_RAW, RvqHeader, RvqReader, RvqWriter, salvage_rvq
from rvqgan.bitstream.reader import check_decoded, raw_codes
from rvqgan.checkpoint import load_model_file, model_hash
from rvqgan.entropy.model_files import EntropyFile, EntropyModels
from rvqgan.entropy.selection import coder_for, decoder_for
from rvqgan.errors import CheckpointError, RvqganError
from rvqgan.inference import decode_stream, encode_stream, encoder_search, search_for
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
        entropy: the coding asked for (``"none"``, ``"static"`` or ``"lm"``).
        payload_bytes: bytes of the chunk payloads (the codes alone).
        payload_bitrate: bits per second of the payloads.
        coded_chunks: chunks stored entropy-coded (the others were stored raw because
            coding would not have made them smaller).
        chunks: chunks in all.
    """

    path: Path
    n_quantizers: int
    frames: int
    duration: float
    file_bytes: int
    bitrate: float
    nominal_bitrate: float
    entropy: str = "none"
    payload_bytes: int = 0
    payload_bitrate: float = 0.0
    coded_chunks: int = 0
    chunks: int = 0


@dataclass(frozen=True)
class DecompressResult:
    """What :func:`decompress` wrote: the audio file, its rate, channels and length in samples.

    With ``salvage=True``, ``lost`` lists the spans ``(start, end)`` in seconds that
    could not be recovered and were written as silence, and ``problems`` describes the
    damage found; both are empty for an intact file.
    """

    path: Path
    sample_rate: int
    channels: int
    length: int
    lost: tuple[tuple[float, float], ...] = ()
    problems: tuple[str, ...] = ()


def load_model(name_or_path: PathLike | None = None, *, fold: bool = True, device: str | None = None) -> Codec:
    """Load a bundled model by name, an rvqgan checkpoint, or an official DAC ``.pth`` file.

    Args:
        name_or_path: a name from :func:`available_models` (default ``"default"``) or a path.
        fold: fold weight normalization into plain weights (the default: inference
            runs faster, see docs/speed.md, and gives the same results to float rounding).
            Pass ``fold=False`` to fine-tune the model with its weight-norm parameters.
        device: e.g. ``"cpu"`` or ``"cuda"``.

    Returns:
        The model in eval mode, with ``name`` and ``content_hash`` set, and
        ``entropy_models`` pointing at the code LM and static tables beside its file
        (``NAME.lm.safetensors``, ``NAME.static.safetensors``; loaded when first used).
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
    model.entropy_models = EntropyModels(path, model.content_hash)
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
    entropy: str = "none",
    entropy_model: EntropyFile | None = None,
    band_limit: bool = True,
    quality: str | None = None,
    refine_steps: int | None = None,
    refine_sisdr: float = 0.0,
    refine_lr: float | None = None,
    refine_mel: float | None = None,
) -> CompressResult:
    """Compress an audio file (any format soundfile reads, any rate, any channels) to ``.rvq``.

    Each channel is coded as its own mono signal. The output appears only when complete.

    Args:
        entropy: ``"none"`` (raw codes), ``"static"`` (the codec's per-codebook tables)
            or ``"lm"`` (its code language model); the codes are the same.
        entropy_model: an entropy model to use instead of the codec's own files.
        band_limit: measure the input's bandwidth (one more pass over the file) and
            signal it, so that decoding low-passes there; ``False``: the decoder's full
            band, as the model alone gives it.
        quality: how hard the encoder searches for its codes
            (:func:`rvqgan.inference.quality_preset`): ``"fast"``, the one-pass encode;
            ``"realtime"``, a short analysis-by-synthesis search, faster than real time
            on 2 CPU cores, that the bundled model needs to beat Opus (its model card);
            ``"best"``, a longer one, offline. ``None``: ``"realtime"`` for the bundled
            default model, on which the presets were tuned and timed, and ``"fast"`` for
            any other (:func:`rvqgan.inference.default_quality`), unless ``refine_steps``
            sets the search by hand. Any decoder reads any of them.
            (``Codec.encode``, the tokenizer's call, is always the one-pass encode.)
        refine_steps: instead of a quality, set the search by hand: this many steps
            (:mod:`rvqgan.inference.refine`). 0: the plain encode, as ``quality="fast"``.
        refine_sisdr: with ``refine_steps``, the weight of the negative SI-SDR (dB) in the
            refinement's objective (``RefineConfig.sisdr_weight``): codes whose waveform
            is closer to the input's, at some cost in mel distance. 0: the recipe's terms.
        refine_lr: with ``refine_steps``, the search's learning rate on the latent
            (``RefineConfig.lr``; ``None``: its default, 0.1). A short search (under ~10
            steps) gains more with a larger one (0.2; docs/inference.md).
        refine_mel: with ``refine_steps``, the weight of the mel distance in the
            objective (``RefineConfig.mel_weight``; ``None``: 1). 0 leaves it out: a step
            a quarter cheaper, for SI-SDR at full bitrate at some cost in mel.

    Raises:
        AudioError: unreadable, empty, NaN-holding input; BitstreamError: output exists
            without ``overwrite``; InputError: bad ``n_quantizers``, ``entropy`` or search
            (a quality with ``refine_*`` options, an unknown quality, bad values);
            CheckpointError: the codec has no such entropy model.
    """
    n = model.quantizer.check_n_quantizers(n_quantizers)
    info = audio_info(input_path)
    coder, entropy_info = coder_for(model, entropy, info.channels, n, entropy_model)
    name, content_hash = _identity(model)
    search = encoder_search(quality, refine_steps, refine_sisdr, refine_lr, refine_mel)  # checked before any work
    refine = search_for(search, n, model)
    bandwidth = measure_file_bandwidth(input_path, model.sample_rate) if band_limit else None
    header = RvqHeader.from_codec(
        _Identity(model, name, content_hash),
        channels=info.channels,
        original_sample_rate=info.sample_rate,
        # MP3 headers may only estimate the length: then it goes in the end record alone.
        original_length=info.frames if info.frames and info.frames > 0 and info.format != "MP3" else None,
        n_codebooks=n,
        entropy=entropy_info,
        bandwidth_hz=bandwidth,
    )
    blocks = iter_audio_blocks(input_path, model.sample_rate)
    counted = _Counter(blocks)
    frames = 0
    with RvqWriter(output_path, header, overwrite=overwrite, chunk_coder=coder) as writer:
        for codes in encode_stream(model, counted, n_quantizers=n, device=device, refine=refine):
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
        entropy=entropy,
        payload_bytes=writer.payload_bytes,
        payload_bitrate=8 * writer.payload_bytes / duration if duration else 0.0,
        coded_chunks=sum(count for kind, count in writer.kind_counts.items() if kind != KIND_RAW),
        chunks=sum(writer.kind_counts.values()),
    )


def decompress(
    input_path: PathLike,
    output_path: PathLike,
    model: Codec | None = None,
    *,
    overwrite: bool = False,
    device: str | None = None,
    entropy_model: EntropyFile | None = None,
    salvage: bool = False,
) -> DecompressResult:
    """Decompress an ``.rvq`` file to audio at its original rate, length and channel count.

    Args:
        input_path: the ``.rvq`` file.
        output_path: ``.wav``, ``.flac``, ``.ogg``... (format from the suffix).
        model: the model that coded the file; ``None`` loads the bundled model the file
            names. A model whose weights differ from the file's is refused.
        entropy_model: the entropy model that coded the file, if not beside the codec.
        salvage: decode whatever is intact in a damaged file; lost spans become silence
            of the right length and are listed in the result (see ``_salvaged``).

    Raises:
        BitstreamError: truncated, corrupt or foreign file (no output is left behind;
        with ``salvage`` only a damaged header is fatal); CheckpointError: the model or
        entropy model the file needs is not available or does not match.
    """
    if salvage:
        return _salvaged(input_path, output_path, model, overwrite, device, entropy_model)
    with RvqReader(input_path) as reader:
        header = reader.header
        model = model_for_header(header, model)
        reader.chunk_decoder = decoder_for(header, model, entropy_model)
        original_length = header.original_length
        if original_length is None:
            original_length = _peek_length(reader)
        model_length = (
            None
            if original_length is None
            else resampled_length(original_length, header.original_sample_rate, model.sample_rate)
        )
        chunks = (torch.from_numpy(codes) for codes in reader)
        audio = band_limited(decode_stream(model, chunks, length=model_length, device=device), header)
        length = _write_audio(audio, output_path, header, model.sample_rate, original_length, overwrite)
    return DecompressResult(Path(output_path), header.original_sample_rate, header.channels, length)


def measure_file_bandwidth(path: PathLike, sample_rate: int) -> int | None:
    """The audio bandwidth of a file at ``sample_rate`` (a pass over it in constant memory);
    ``None`` when it is full-band or silent."""
    meter = BandwidthMeter(sample_rate)
    for block in iter_audio_blocks(path, sample_rate):
        meter.update(block)
    return meter.result()


def band_limited(blocks, header: RvqHeader):
    """Decoded blocks ``[C, n]`` low-passed at the header's ``bandwidth_hz`` (as they are
    when it has none); the same total length, block boundaries anywhere."""
    if header.bandwidth_hz is None:
        yield from blocks
        return
    limiter = BandLimiter(header.sample_rate, header.bandwidth_hz, header.channels)
    for block in blocks:
        out = limiter.process(block)
        if out.shape[-1]:
            yield out
    yield limiter.flush()


def _write_audio(
    audio, output_path: PathLike, header: RvqHeader, model_rate: int, original_length: int | None, overwrite: bool
) -> int:
    """Write decoded blocks [C, n] at ``model_rate`` to ``output_path`` at the file's original
    rate and length (the file appears only when complete); returns the samples written."""
    resampler = Resampler(model_rate, header.original_sample_rate, header.channels, length=original_length)
    with AudioWriter(output_path, header.original_sample_rate, header.channels, overwrite=overwrite) as writer:
        for block in audio:
            writer.write(resampler.process(block.numpy()))
        writer.write(resampler.flush())
        return writer.frames_written


def _salvaged(
    input_path: PathLike,
    output_path: PathLike,
    model: Codec | None,
    overwrite: bool,
    device: str | None,
    entropy_model: EntropyFile | None,
) -> DecompressResult:
    """Decode the intact chunks of a damaged file; silence where chunks were lost.

    Each run of consecutive intact chunks is decoded on its own (the decoder sees no
    codes across a gap), lost spans become zeros of exactly their frames' length, and
    the whole is cut to the original length, so what survives stays in its place.
    """
    found = salvage_rvq(input_path)
    header = found.header
    model = model_for_header(header, model)
    decoder = decoder_for(header, model, entropy_model)
    hop, problems = model.hop_length, list(found.problems)
    original_length = header.original_length
    if original_length is None and found.end is not None:
        original_length = found.end.original_length
    ends = (
        [0]
        + [s.start_frame + (s.n_frames or 0) for s in found.lost]
        + [r.start_frame + r.n_frames for r in found.records]
    )
    frames_total = max(ends)
    if original_length is not None:
        model_length = resampled_length(original_length, header.original_sample_rate, model.sample_rate)
        frames_total = max(frames_total, -(-model_length // hop))
    else:
        model_length = frames_total * hop
    runs = _decoded_runs(found, decoder, problems)
    audio = band_limited(_assemble(model, runs, header.channels, model_length, device), header)
    length = _write_audio(audio, output_path, header, model.sample_rate, original_length, overwrite)
    seconds = hop / model.sample_rate
    lost = tuple((a * seconds, b * seconds) for a, b in _gaps(runs, frames_total))
    return DecompressResult(
        Path(output_path), header.original_sample_rate, header.channels, length, lost=lost, problems=tuple(problems)
    )


def _decoded_runs(found, decoder, problems: list[str]) -> list[tuple[int, list[torch.Tensor]]]:
    """Runs ``(start_frame, [codes [C, K, n], ...])`` of contiguous chunks that decode."""
    runs: list[tuple[int, list[torch.Tensor]]] = []
    for record in found.records:
        where = f"chunk at byte {record.offset}"
        try:
            if record.kind == KIND_RAW:
                codes = raw_codes(found.header, record.payload, record.n_frames, where)
            else:
                codes = decoder.decode(record.kind, record.payload, record.n_frames)
                codes = check_decoded(found.header, codes, record.n_frames, where)
        except RvqganError as exc:
            problems.append(str(exc))
            continue
        if runs and runs[-1][0] + sum(c.shape[-1] for c in runs[-1][1]) == record.start_frame:
            runs[-1][1].append(torch.from_numpy(codes))
        else:
            runs.append((record.start_frame, [torch.from_numpy(codes)]))
    return runs


def _assemble(model: Codec, runs, channels: int, length: int, device: str | None):
    """Audio blocks ``[C, n]`` covering exactly ``length`` samples: decoded runs, zeros elsewhere."""
    hop, position = model.hop_length, 0
    for start, chunks in runs:
        if start * hop >= length:
            break
        if start * hop > position:
            yield torch.zeros(channels, start * hop - position)
            position = start * hop
        want = min((start + sum(c.shape[-1] for c in chunks)) * hop, length) - position
        got = 0
        for block in decode_stream(model, iter(chunks), length=None, device=device):
            block = block[:, : max(0, want - got)]
            got += block.shape[-1]
            if block.shape[-1]:
                yield block
        if got < want:  # odd-stride decoders give a few samples fewer than frames * hop
            yield torch.zeros(channels, want - got)
        position += want
    if position < length:
        yield torch.zeros(channels, length - position)


def _gaps(runs, frames_total: int) -> list[tuple[int, int]]:
    """Frame spans ``[start, stop)`` not covered by the decoded runs."""
    gaps, position = [], 0
    for start, chunks in runs:
        if start > position:
            gaps.append((position, start))
        position = max(position, start + sum(c.shape[-1] for c in chunks))
    if position < frames_total:
        gaps.append((position, frames_total))
    return gaps


def model_for_header(header: RvqHeader, model: Codec | None) -> Codec:
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
