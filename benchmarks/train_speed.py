"""Training speed: steps/s, audio-seconds/s, and where a step's time goes.

Trains a recipe for a few steps on a synthetic cache (numpy only: runs where no audio
library is installed) and reports, per step: data wait, generator forward,
discriminator step (forward + backward + AdamW), discriminator forward for the
generator's losses, reconstruction losses, generator backward (+ clipping), generator
AdamW. On CUDA every phase is synchronized, which costs a little speed.

    python benchmarks/train_speed.py configs/small_cpu.yaml --steps 5 --threads 2
    python benchmarks/train_speed.py configs/dac_44khz.yaml --steps 2 --set schedule.batch_size=3
    PYTHONPATH=src python3 benchmarks/train_speed.py configs/dac_44khz.yaml --set schedule.precision=bf16

Figures measured here are written down in docs/training.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from rvqgan.data import SourceFile, write_cache
from rvqgan.data.dataset import make_loader
from rvqgan.train import Trainer, load_config
from rvqgan.train.validate import count_parameters

DOMAINS = ("speech", "music", "environmental")


def synthetic_cache(folder: Path, sample_rate: int, seconds: float = 8.0, files_per_domain: int = 3) -> Path:
    """Noise shaped towards 1/f plus tones: enough texture for realistic loss computations."""
    rng = np.random.default_rng(0)
    items = []
    n = int(seconds * sample_rate)
    for domain in DOMAINS:
        for i in range(files_per_domain):
            spectrum = np.fft.rfft(rng.standard_normal(n)) / np.sqrt(1 + np.arange(n // 2 + 1) / 50)
            audio = np.fft.irfft(spectrum, n)
            t = np.arange(n) / sample_rate
            audio += 0.3 * np.sin(2 * np.pi * (110 * (i + 1)) * t) * (1 + np.sin(2 * np.pi * 0.5 * t))
            audio = (0.3 * audio / np.abs(audio).max()).astype(np.float32)
            items.append((SourceFile(f"synthetic/{domain}/{i}.wav", domain, i == 0), (audio, "")))
    write_cache(items, folder, sample_rate)
    return folder


class PhaseTimer:
    """Accumulates wall time per phase; synchronizes CUDA around each measurement."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.totals: dict[str, float] = defaultdict(float)

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def wrap(self, name: str, function):
        def timed(*args, **kwargs):
            self.sync()
            start = time.perf_counter()
            result = function(*args, **kwargs)
            self.sync()
            self.totals[name] += time.perf_counter() - start
            return result

        return timed


def instrument(trainer: Trainer, timer: PhaseTimer) -> None:
    step = trainer.gan_step
    trainer.generator.forward = timer.wrap("generator forward", trainer.generator.forward)
    step._discriminator_step = timer.wrap("discriminator step (fwd+bwd+AdamW)", step._discriminator_step)
    step._adversarial_losses = timer.wrap("discriminator forward for G losses", step._adversarial_losses)
    step.reconstruction.forward = timer.wrap("reconstruction losses", step.reconstruction.forward)
    trainer.optimizer_g.step = timer.wrap("generator AdamW", trainer.optimizer_g.step)
    step._generator_step = timer.wrap("_generator_step", step._generator_step)


def measure(args: argparse.Namespace) -> dict:
    overrides = list(args.set)
    if args.threads:
        overrides.append(f"schedule.threads={args.threads}")
    config = load_config(args.config, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        cache = synthetic_cache(Path(tmp) / "cache", config.model.sample_rate)
        overrides += [f"data.cache={cache}", "data.valid_cache=null", "data.valid_files_per_domain=0",
                      "data.domains=[]", f"schedule.device={args.device}", "log.tensorboard=false",
                      "log.progress_bar=never"]
        config = load_config(args.config, overrides)
        trainer = Trainer(config, Path(tmp) / "run")
        device = trainer.info.device
        timer = PhaseTimer(device)
        instrument(trainer, timer)
        total_steps = args.warmup + args.steps
        loader = make_loader(trainer.dataset, 0, total_steps, config.schedule.batch_size,
                             pin_memory=device.type == "cuda")
        step_times, data_times = [], []
        waited = time.perf_counter()
        for number, (audio, _) in enumerate(loader):
            if number == args.warmup:
                timer.totals.clear()
            timer.sync()
            started = time.perf_counter()
            trainer.train_step(audio.to(device, non_blocking=True))
            timer.sync()
            done = time.perf_counter()
            if number >= args.warmup:
                step_times.append(done - started)
                data_times.append(started - waited)
            waited = time.perf_counter()
    steps = len(step_times)
    phases = {k: v / steps for k, v in timer.totals.items()}
    g_step = phases.pop("_generator_step")
    phases["generator backward (+clip)"] = g_step - phases["generator AdamW"]
    step_seconds = sum(step_times) / steps
    data_seconds = sum(data_times) / steps
    audio_seconds = config.schedule.batch_size * config.data.excerpt_seconds
    phases["other (EMA, lr, logging)"] = step_seconds - sum(phases.values())
    return {
        "config": str(args.config),
        "overrides": list(args.set),
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "generator_parameters_M": round(count_parameters(trainer.generator) / 1e6, 2),
        "discriminator_parameters_M": round(count_parameters(trainer.discriminator) / 1e6, 2),
        "batch_size": config.schedule.batch_size,
        "excerpt_seconds": config.data.excerpt_seconds,
        "precision": config.schedule.precision,
        "steps_measured": steps,
        "seconds_per_step": step_seconds,
        "steps_per_second": 1 / step_seconds,
        "audio_seconds_per_second": audio_seconds / step_seconds,
        "data_wait_fraction": data_seconds / (data_seconds + step_seconds),
        "phases_seconds": phases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--steps", type=int, default=5, help="measured steps")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured first steps")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    result = measure(args)
    print(f"{result['config']} {' '.join(result['overrides'])} on {result['device']} "
          f"({result['threads']} threads), G {result['generator_parameters_M']} M, "
          f"D {result['discriminator_parameters_M']} M, batch {result['batch_size']} x {result['excerpt_seconds']} s, "
          f"{result['precision']}")
    print(f"  {result['seconds_per_step']:.3f} s/step = {result['steps_per_second']:.3f} steps/s, "
          f"{result['audio_seconds_per_second']:.2f} audio-s/s; data wait {100 * result['data_wait_fraction']:.1f} %")
    for name, seconds in sorted(result["phases_seconds"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:40s} {1000 * seconds:9.1f} ms  {100 * seconds / result['seconds_per_step']:5.1f} %")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
