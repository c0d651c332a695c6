"""Codec specifications as written on the command line, e.g. ``opus:6,8,12,24``.

* ``opus:K1,K2,...``: Opus at those kbps (default 6,8,12,24).
* ``mp3:K1,K2,...``: MP3 at those kbps; ``K@RATE`` sets LAME's sample rate (default 32).
* ``model:PATH[:NAME]``: an rvqgan checkpoint, an official DAC ``.pth`` or a bundled model
  name, at every number of codebooks; NAME names it in reports (default: the model's own
  name, else the file stem). Coded as ``rvqgan encode`` codes a file: the input's
  bandwidth is measured and signalled, and the decoded audio low-passed there.
* ``model-fullband:PATH[:NAME]``: the same model without bandwidth signalling (as
  ``rvqgan encode --full-band``): the decoder's output as it comes.
"""

from __future__ import annotations

from pathlib import Path

from rvqgan.errors import ConfigError
from rvqgan.eval.baselines import Mp3Codec, OpusCodec
from rvqgan.eval.codecs import EvalCodec, ModelCodec
from rvqgan.inference.refine import Search


def _numbers(text: str, what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ConfigError(f"{what}: give at least one bitrate, e.g. {what}:6,8")
    return items


def _int(text: str, spec: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"codec spec {spec!r}: {text!r} is not a whole number of kbps") from None


def load_model(name_or_path: str | Path):
    """A model by bundled name or checkpoint path, weight norm folded (``rvqgan.load_model``)."""
    from rvqgan.api import load_model as public_load_model

    return public_load_model(name_or_path, fold=True)


def parse_codec_spec(spec: str, device: str = "cpu", *, refine: Search = None,
                     n_codebooks: list[int] | None = None) -> EvalCodec:
    """Build the :class:`EvalCodec` a spec names (see the module docstring).

    ``refine`` and ``n_codebooks`` apply to model codecs (see :class:`ModelCodec`).
    """
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "opus":
        return OpusCodec([_int(t, spec) for t in _numbers(rest, "opus")] if rest else (6, 8, 12, 24))
    if kind == "mp3":
        items: list = []
        for text in _numbers(rest, "mp3") if rest else ["32"]:
            k, _, rate = text.partition("@")
            items.append((_int(k, spec), _int(rate, spec)) if rate else _int(k, spec))
        return Mp3Codec(items)
    if kind in ("model", "model-fullband"):
        if not rest:
            raise ConfigError(f"{kind} codec spec needs a checkpoint: {kind}:PATH[:NAME]")
        path, name = rest, None
        head, _, tail = rest.rpartition(":")
        if head and not Path(rest).exists():
            path, name = head, tail
        model = load_model(path)
        default = getattr(model, "name", None)
        if not default or default == "unnamed":
            default = Path(path).stem
        return ModelCodec(model, name=name or default, n_codebooks=n_codebooks, device=device,
                          band_limit=kind == "model", refine=refine)
    raise ConfigError(f"unknown codec {kind!r} in {spec!r}; use opus:KBPS,..., mp3:KBPS,..., model:PATH[:NAME] "
                      "or model-fullband:PATH[:NAME]")
