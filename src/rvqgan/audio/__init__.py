"""Audio in and out: soundfile for files, soxr for sample rates, shapes [C, T] float32.

Reading (:func:`read_audio` for small files, :func:`iter_audio_blocks` to stream long
ones at constant memory) accepts WAV, FLAC, OGG/Vorbis, Opus and MP3, any number of
channels. Integer PCM is scaled to [-1, 1); float data is returned as stored.
Writing (:class:`AudioWriter`, :func:`write_audio`) streams into a temp file in the
destination folder and renames it into place when complete.

Sample rates: :func:`resample` (whole arrays) and :class:`Resampler` (streamed) give
``floor(T * sr_out / sr_in + 1/2)`` samples, or exactly ``length=`` samples when the
caller knows the length it needs, as when decoded audio goes back to the original rate
and the original length comes from the bitstream header (see ``resample.py``).

Defined behaviour on bad input (every refusal is an :class:`~rvqgan.errors.AudioError`
saying what is wrong and what to do, never a soundfile or numpy traceback):

=================================  ====================================================
missing path, folder, no read       AudioError when the reader is created
permission
empty file (0 bytes)                AudioError "empty file (0 bytes)"
unknown format, random bytes        AudioError "not a readable audio file", listing the
                                    supported formats
corrupt or truncated data that      AudioError "corrupt or truncated audio", with the
fails to decode (e.g. FLAC)         position reached, raised at that block
fewer frames than the header says   AudioError "truncated" (WAV, FLAC, OGG...); a
                                    warning for MP3, whose count may be an estimate
WAV header larger than the file     AudioWarning (piped WAVs carry bogus sizes); the
                                    frames present are read
valid file with zero frames         AudioError "no audio samples" (readers; audio_info
                                    just reports frames=0): coding nothing is never
                                    what the user meant
NaN or Inf float samples            AudioError naming how many and the first frame,
                                    time and channel; not zeroed, which would hide
                                    damage
float samples beyond [-1, 1]        kept unchanged (the encoder accepts them) with one
                                    AudioWarning giving the count and peak
silence                             ordinary audio
writing: existing file              AudioError "pass --overwrite" unless overwrite=True
writing: unknown suffix             AudioError listing the suffixes
writing: beyond [-1, 1]             clipped for integer subtypes with an AudioWarning;
                                    kept for FLOAT
writing: NaN/Inf                    AudioError; the partial file is removed
=================================  ====================================================

Example (decode back to the original rate and length, streamed):
    >>> resampler = Resampler(model_rate, file_rate, channels, length=original_frames)  # doctest: +SKIP
    >>> with AudioWriter("out.flac", file_rate, channels) as w:  # doctest: +SKIP
    ...     for block in decoded_blocks:
    ...         w.write(resampler.process(block))
    ...     w.write(resampler.flush())
"""

from rvqgan.audio.info import READ_FORMATS, AudioInfo, AudioWarning, audio_info
from rvqgan.audio.read import iter_audio_blocks, read_audio
from rvqgan.audio.resample import QUALITIES, Resampler, resample, resampled_length
from rvqgan.audio.write import WRITE_FORMATS, AudioWriter, write_audio

__all__ = [
    "QUALITIES",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "AudioInfo",
    "AudioWarning",
    "AudioWriter",
    "Resampler",
    "audio_info",
    "iter_audio_blocks",
    "read_audio",
    "resample",
    "resampled_length",
    "write_audio",
]
