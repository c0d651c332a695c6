"""What a search setting of ``rvqgan encode --refine`` buys, on training-corpus excerpts.

Settings of the encoder's search (steps, learning rate, SI-SDR weight, number of
codebooks) are chosen here, on excerpts of the training corpus, so that the test set
stays held out for ``rvqgan eval``. Each ``--search Q:STEPS:LR:SISDR[:MEL]`` is run on the same
excerpts (``--per-domain`` of each domain, ``--seconds`` long, drawn with ``--seed`` by the
trainer's sampler: loudness-normalized, no phase rotation) and scored with the
evaluation's metrics (mel and STFT distance, SI-SDR) against the plain encode with as
many codebooks. Prints, per setting and domain, the means and the change from the plain
encode, and the seconds the setting took.

    python benchmarks/refine_objective.py --search 9:6:0.2:0.3 9:6:0.2:1.0 7:6:0.2:0 --per-domain 8

The cache is the recipe's (``--recipe``, default ``configs/default_cpu.yaml``); without
it, run ``scripts/build_corpus.py`` and ``rvqgan prepare`` first (docs/data.md).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import torch

import rvqgan
from rvqgan.data.dataset import ExcerptDataset
from rvqgan.data.setup import open_caches
from rvqgan.eval.metrics import MetricSuite, si_sdr
from rvqgan.inference import RefineConfig, refine_codes
from rvqgan.train.config import load_config


@dataclass(frozen=True)
class Search:
    """One ``--search Q:STEPS:LR:SISDR[:MEL]`` (MEL: the mel term's weight, default 1)."""

    codebooks: int
    config: RefineConfig

    @classmethod
    def parse(cls, text: str) -> Search:
        try:
            q, steps, lr, sisdr, *mel = text.split(":")
            if len(mel) > 1:
                raise ValueError(text)
            config = RefineConfig(steps=int(steps), lr=float(lr), sisdr_weight=float(sisdr),
                                  mel_weight=float(mel[0]) if mel else 1.0)
            return cls(int(q), config)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"--search wants Q:STEPS:LR:SISDR[:MEL], e.g. 9:6:0.2:0.3; got {text!r}") from error

    def __str__(self) -> str:
        c = self.config
        mel = "" if c.mel_weight == 1 else f" mel {c.mel_weight:g}"
        return f"q{self.codebooks} {c.steps} steps lr {c.lr:g} sisdr {c.sisdr_weight:g}{mel}"


def excerpts(recipe: str, seconds: float, per_domain: int, domains: list[str], seed: int):
    """(audio [N, 1, T], domain names): the trainer's excerpts of the training files."""
    config = load_config(recipe, [f"data.excerpt_seconds={seconds}", "data.phase_shift=false"])
    train, _ = open_caches(config.data, config.model.sample_rate)
    dataset = ExcerptDataset(train, config.data, batch_size=config.schedule.batch_size, seed=seed)
    names = dataset.sampler.domains
    picked: dict[str, list[torch.Tensor]] = {d: [] for d in domains}
    for step in range(10_000):
        for index in range(config.schedule.batch_size):
            audio, domain = dataset[(step, index)]
            bucket = picked.get(names[domain])
            if bucket is not None and len(bucket) < per_domain:
                bucket.append(audio)
        if all(len(b) == per_domain for b in picked.values()):
            break
    else:
        raise SystemExit(f"the cache has too few files of {domains} for {per_domain} excerpts each")
    return torch.stack([a for d in domains for a in picked[d]]), [d for d in domains for _ in picked[d]]


def score(model, audio: torch.Tensor, codes: torch.Tensor, suite: MetricSuite) -> list[dict[str, float]]:
    with torch.no_grad():
        decoded = model.decode(codes)[..., : audio.shape[-1]]
    rows = []
    for reference, estimate in zip(audio[:, 0].numpy(), decoded[:, 0].numpy()):
        rows.append({**suite.spectral(reference, estimate), "sisdr": si_sdr(reference, estimate)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", type=Search.parse, nargs="+", required=True, metavar="Q:STEPS:LR:SISDR[:MEL]")
    parser.add_argument("--model", default="default", help="bundled name or model file")
    parser.add_argument("--recipe", default="configs/default_cpu.yaml", help="whose data.cache to draw from")
    parser.add_argument("--domains", nargs="+", default=["speech", "music", "environmental"])
    parser.add_argument("--per-domain", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = rvqgan.load_model(args.model)
    audio, domains = excerpts(args.recipe, args.seconds, args.per_domain, args.domains, args.seed)
    suite = MetricSuite(model.sample_rate, visqol=False, speech=False)
    print(f"{args.model}: {len(domains)} excerpts of {args.seconds:g} s ({args.per_domain} per domain, seed {args.seed})")
    plain: dict[int, list[dict[str, float]]] = {}
    for search in args.search:
        q = search.codebooks
        if q not in plain:
            plain[q] = score(model, audio, model.encode(model.pad_to_hop(audio), q), suite)
        started = time.perf_counter()
        codes = refine_codes(model, audio, q, search.config)
        seconds = time.perf_counter() - started
        rows = score(model, audio, codes, suite)
        for domain in args.domains:
            idx = [i for i, d in enumerate(domains) if d == domain]
            mean = {k: float(np.mean([rows[i][k] for i in idx])) for k in ("mel", "stft", "sisdr")}
            base = {k: float(np.mean([plain[q][i][k] for i in idx])) for k in ("mel", "stft", "sisdr")}
            print(f"{search!s:>32} {domain:>13}: mel {mean['mel']:.3f} ({mean['mel'] - base['mel']:+.3f}), "
                  f"STFT {mean['stft']:.3f} ({mean['stft'] - base['stft']:+.3f}), "
                  f"SI-SDR {mean['sisdr']:5.2f} dB ({mean['sisdr'] - base['sisdr']:+.2f})")
        print(f"{search!s:>32}: {seconds:.0f} s for {len(domains) * args.seconds:g} s of audio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
