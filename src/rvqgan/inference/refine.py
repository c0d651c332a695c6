"""Encoder refinement: choose codes by analysis-by-synthesis, for a slower, better encode.

The encoder maps audio to a latent in one pass, and residual quantization picks, stage
by stage, the code nearest to it. Nothing in that looks at what the decoder will make of
the codes. Refinement does: starting from the encoder's latent ``z``, it takes
``steps`` Adam steps on ``z`` to lower the reconstruction loss of the decoded audio
against the input (the multi-scale mel distance plus ``waveform_weight`` times the L1
waveform error, the two reconstruction terms of the default recipe in its proportions,
15 : 500), through the quantizer with its straight-through gradient. ``sisdr_weight``
adds the negative SI-SDR in dB: codes whose waveform is closer to the input's, which the
mel term does not ask for, at some cost in mel distance (docs/inference.md). Each step's
forward pass scores the codes of its starting point (the encoder's own codes at the first
step), and the codes after the last step are scored once more; each item keeps the codes
with the lowest objective among these ``steps + 1``. So refinement never makes an item's
objective worse, and a search that overshoots keeps its best point.

Only the encoder's side changes: the codes are ordinary codes, any decoder of the same
model reads them, and the file format is the same. The cost per chunk is ``steps``
decoder passes forward and backward and one forward: each step takes about what a plain
encode takes (docs/inference.md).
It is deterministic for a given machine and thread count, like the plain encode.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rvqgan.errors import InputError
from rvqgan.model.codec import Codec


@dataclass(frozen=True)
class RefineConfig:
    """How hard the encoder searches.

    Attributes:
        steps: Adam steps on the latent (0: the plain encode).
        lr: Adam's learning rate on the latent (whose values are of order 1).
        waveform_weight: weight of the L1 waveform error against the mel distance's 1.
        sisdr_weight: weight of the negative SI-SDR in dB (0: not in the objective).
        mel_weight: weight of the mel distance (0: not in the objective, and not computed,
            which makes a step about a quarter cheaper).
    """

    steps: int = 40
    lr: float = 0.1
    waveform_weight: float = 500.0 / 15.0
    sisdr_weight: float = 0.0
    mel_weight: float = 1.0

    def __post_init__(self) -> None:
        weights = (self.waveform_weight, self.sisdr_weight, self.mel_weight)
        if self.steps < 0 or not self.lr > 0 or not all(w >= 0 for w in weights):
            raise InputError(f"refinement needs steps >= 0, lr > 0 and weights >= 0, got {self}")
        if self.steps and not any(weights):
            raise InputError(f"refinement needs a term in its objective (every weight is 0), got {self}")


def refine_config(steps: int, sisdr_weight: float = 0.0, lr: float | None = None,
                  mel_weight: float | None = None) -> RefineConfig | None:
    """The search that ``--refine STEPS --refine-sisdr W --refine-lr LR --refine-mel M`` ask for;
    ``None``: the plain encode.

    ``lr=None`` and ``mel_weight=None`` keep :class:`RefineConfig`'s defaults.

    Raises:
        InputError: an SI-SDR weight, a learning rate or a mel weight without steps (nothing to
            search), or bad values.
    """
    if (sisdr_weight or lr is not None or mel_weight is not None) and not steps:
        raise InputError("refine_sisdr, refine_lr and refine_mel (--refine-sisdr, --refine-lr, --refine-mel) set the "
                         "refinement's search; they need refine_steps > 0 (--refine STEPS)")
    if not steps:
        return None
    return RefineConfig(steps=steps, sisdr_weight=sisdr_weight, lr=RefineConfig.lr if lr is None else lr,
                        mel_weight=RefineConfig.mel_weight if mel_weight is None else mel_weight)


QUALITIES = ("fast", "realtime", "best")


@dataclass(frozen=True)
class QualityPreset:
    """A named encoder effort: the search it runs at full bitrate and below it.

    At full bitrate (every codebook) the bundled model's mel and STFT distances are far
    below Opus 8 kbps's and SI-SDR is the close one, so the search leans on the waveform;
    below, mel is the close one (against Opus 12 kbps at 6 kbps), so it searches on mel
    alone. The settings were chosen on training-corpus excerpts with
    ``benchmarks/refine_objective.py`` and checked on the test set (docs/inference.md,
    "Quality presets").

    Attributes:
        name: ``"fast"``, ``"realtime"`` or ``"best"``.
        full: the search with every codebook (``None``: the plain encode).
        reduced: the search with fewer codebooks.
    """

    name: str
    full: RefineConfig | None
    reduced: RefineConfig | None

    def config(self, n_quantizers: int, model: Codec) -> RefineConfig | None:
        """The search for ``n_quantizers`` of ``model``'s codebooks."""
        return self.full if n_quantizers >= model.n_codebooks else self.reduced


# Bundled models whose presets were chosen and timed (docs/inference.md, "Quality presets").
TUNED_MODELS = ("default",)


@dataclass(frozen=True)
class DefaultQuality:
    """The quality when none is named: ``realtime`` for a model in ``TUNED_MODELS`` (by its
    ``name``), ``fast`` for any other. The presets' searches were tuned and timed on the
    bundled default model; on a model forty times larger, such as the official DAC's, the
    same search would run far slower than real time on a CPU, so it is asked for by name."""

    def config(self, n_quantizers: int, model: Codec) -> RefineConfig | None:
        return quality_preset(default_quality(model)).config(n_quantizers, model)


def default_quality(model: Codec) -> str:
    """``"realtime"`` for the models the presets were tuned on, ``"fast"`` otherwise."""
    return "realtime" if getattr(model, "name", None) in TUNED_MODELS else "fast"


_PRESETS = {
    # The one-pass encode: x8-15 real time on 2 cores for the bundled model.
    "fast": QualityPreset("fast", None, None),
    # Faster than real time on 2 cores (benchmarks/refine_speed.py).
    "realtime": QualityPreset(
        "realtime",
        full=RefineConfig(steps=8, lr=0.2, sisdr_weight=0.3, mel_weight=0.0),
        reduced=RefineConfig(steps=6, lr=0.2),
    ),
    # Offline: about half real time.
    "best": QualityPreset(
        "best",
        full=RefineConfig(steps=20, lr=0.1, sisdr_weight=0.3),
        reduced=RefineConfig(steps=20, lr=0.1),
    ),
}


def quality_preset(name: str) -> QualityPreset:
    """The preset ``--quality NAME`` names.

    Raises:
        InputError: an unknown name.
    """
    try:
        return _PRESETS[name]
    except KeyError:
        raise InputError(f"unknown quality {name!r}; expected one of {', '.join(QUALITIES)}") from None


Search = RefineConfig | QualityPreset | DefaultQuality | None


def search_for(refine: Search, n_quantizers: int, model: Codec) -> RefineConfig | None:
    """The search to run for ``n_quantizers`` of ``model``'s codebooks: a preset's choice,
    the one search given, or ``None`` (the plain encode)."""
    if isinstance(refine, (QualityPreset, DefaultQuality)):
        refine = refine.config(n_quantizers, model)
    return refine if refine is not None and refine.steps else None


def encoder_search(quality: str | None = None, steps: int | None = None, sisdr_weight: float = 0.0,
                   lr: float | None = None, mel_weight: float | None = None) -> Search:
    """What ``rvqgan encode`` and ``rvqgan.compress`` run: the preset ``--quality`` names,
    the search ``--refine STEPS`` and its options set by hand (``steps=0``: the plain
    encode), or, with neither, :class:`DefaultQuality` (``realtime`` for the bundled default
    model, ``fast`` for others). Pass the result to :func:`search_for` with the number of
    codebooks and the model.

    Raises:
        InputError: both a quality and a hand-set search, an unknown quality, or what
            :func:`refine_config` refuses.
    """
    by_hand = steps is not None or sisdr_weight or lr is not None or mel_weight is not None
    if not by_hand:
        return DefaultQuality() if quality is None else quality_preset(quality)
    if quality is not None:
        raise InputError("quality (--quality) picks the search; refine_steps and its options (--refine, "
                         "--refine-sisdr, --refine-lr, --refine-mel) set one by hand: give one or the other")
    return refine_config(steps or 0, sisdr_weight, lr, mel_weight)


def _references(mel, audio: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
    """Per item, the input's mel spectra (``MelLoss.spectra``): the search's fixed reference."""
    with torch.no_grad():
        return [mel.spectra(audio[i : i + 1]) for i in range(audio.shape[0])]


def _objective(model: Codec, mel, z_q: torch.Tensor, audio: torch.Tensor, config: RefineConfig,
               references: list[tuple[torch.Tensor, ...]] | None = None) -> torch.Tensor:
    """Per item, the objective for the decoded ``z_q`` (lower is better); ``references``:
    ``_references(mel, audio)``, computed here when not given and the mel term is weighted
    (``mel`` may be ``None`` when ``config.mel_weight`` is 0)."""
    decoded = model.decoder(z_q)[..., : audio.shape[-1]]
    if decoded.shape[-1] < audio.shape[-1]:  # a decoder that returns a few samples short: silence there
        decoded = torch.nn.functional.pad(decoded, (0, audio.shape[-1] - decoded.shape[-1]))
    loss = config.waveform_weight * (decoded - audio).abs().mean(dim=(1, 2))
    if config.mel_weight:
        references = references if references is not None else _references(mel, audio)
        spectral = torch.stack([mel.distance(decoded[i : i + 1], references[i]) for i in range(audio.shape[0])])
        loss = loss + config.mel_weight * spectral
    if config.sisdr_weight:
        from rvqgan.losses.waveform import si_sdr  # training code, as MelLoss

        loss = loss - config.sisdr_weight * si_sdr(decoded, audio)
    return loss


class _Best:
    """Per item, the codes with the lowest objective offered so far."""

    def __init__(self) -> None:
        self.codes: torch.Tensor | None = None
        self.scores: torch.Tensor | None = None

    def offer(self, codes: torch.Tensor, scores: torch.Tensor) -> None:
        if self.codes is None:
            self.codes, self.scores = codes, scores
            return
        better = scores < self.scores
        self.codes = torch.where(better[:, None, None], codes, self.codes)
        self.scores = torch.where(better, scores, self.scores)


def refine_codes(model: Codec, audio: torch.Tensor, n_quantizers: int | None = None,
                 config: RefineConfig | None = None) -> torch.Tensor:
    """Codes [B, K, frames] for ``audio`` [B, 1, T], chosen by refinement (see the module).

    With ``config.steps == 0`` this is ``model.encode(audio, n_quantizers)``.
    """
    from rvqgan.losses import MelLoss  # training code: imported only when refining

    config = config or RefineConfig()
    n = model.quantizer.check_n_quantizers(n_quantizers)
    if config.steps == 0 or audio.shape[-1] == 0:
        return model.encode(audio, n)
    mel = MelLoss(model.sample_rate).to(audio.device)
    target = model.pad_to_hop(audio)
    frozen = [p for p in model.parameters() if p.requires_grad]
    training = model.training
    model.eval()
    try:
        for p in frozen:
            p.requires_grad_(False)
        with torch.enable_grad():
            with torch.no_grad():
                z = model.encoder(target)
            z.requires_grad_(True)
            optimizer = torch.optim.Adam([z], lr=config.lr)
            best = _Best()
            references = _references(mel, target) if config.mel_weight else None
            for _ in range(config.steps):
                quantized = model.quantizer(z, n)
                scores = _objective(model, mel, quantized.z_q, target, config, references)
                best.offer(quantized.codes, scores.detach())  # the codes of this step's starting point
                optimizer.zero_grad(set_to_none=True)
                scores.sum().backward()
                optimizer.step()
        with torch.no_grad():
            codes = model.quantizer.encode(z, n)
            best.offer(codes, _objective(model, mel, model.quantizer.decode(codes), target, config, references))
            return best.codes
    finally:
        for p in frozen:
            p.requires_grad_(True)
        model.train(training)
