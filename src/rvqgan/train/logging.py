"""Progress reporting of a run (rank 0 only): log lines, metrics.jsonl, TensorBoard, tqdm.

* every ``log.every`` steps: one plain line on stdout and in ``RUN_DIR/train.log``
  (readable in a background run), and one JSON record in ``RUN_DIR/metrics.jsonl``;
* TensorBoard (``RUN_DIR/tb``): losses, learning rates, step time, validation metrics,
  validation audio and log-spectrogram images (drawn with numpy; no matplotlib needed).
  Without the ``tensorboard`` package it is skipped with a warning;
* a tqdm bar (step, loss, ETA) when stdout is a terminal.
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from rvqgan.train.config import LogConfig


def _open_tensorboard(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        warnings.warn("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)", stacklevel=3)
        return None
    return SummaryWriter(str(folder))


def spectrogram_image(audio: torch.Tensor, n_fft: int = 1024) -> np.ndarray:
    """A log-magnitude spectrogram of (T,) audio as an RGB image (3, F, frames), low frequencies at the bottom."""
    window = torch.hann_window(n_fft)
    spec = torch.stft(audio.float(), n_fft, n_fft // 4, window=window, return_complex=True).abs()
    db = 20 * torch.log10(spec.clamp(min=1e-5))
    level = ((db - db.max() + 80) / 80).clamp(0, 1).flip(0).numpy()
    # A dark-blue -> red -> yellow ramp, so that quiet detail stays visible.
    rgb = np.stack([np.clip(1.5 * level, 0, 1), np.clip(2 * level - 1, 0, 1), np.clip(0.6 - np.abs(level - 0.3), 0, 1)])
    return (rgb * 255).astype(np.uint8)


class RunLogger:
    """Writes a run's progress; a no-op on ranks other than 0.

    Args:
        run_dir: the run folder.
        config: the log section of the recipe.
        total_steps: for the progress bar and the ETA.
        start_step: the step the run starts (or resumes) at.
        active: False on ranks other than 0.
    """

    def __init__(self, run_dir: Path, config: LogConfig, total_steps: int, start_step: int, active: bool = True) -> None:
        self.active = active
        self.config = config
        self.total = total_steps
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0
        self.started = time.perf_counter()
        self.start_step = start_step
        self.window_start = self.started
        self.tb = self.bar = self.text = self.jsonl = None
        self.references_written = False
        if not active:
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        # Open for the whole run (line-buffered, so a background run can be followed); closed by close().
        self.text = open(run_dir / "train.log", "a", buffering=1)  # noqa: SIM115
        self.jsonl = open(run_dir / "metrics.jsonl", "a", buffering=1)  # noqa: SIM115
        if config.tensorboard:
            self.tb = _open_tensorboard(run_dir / "tb")
        if config.progress_bar == "always" or (config.progress_bar == "auto" and sys.stdout.isatty()):
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True)

    def message(self, text: str) -> None:
        """A free-form line (start, resume, checkpoint, stop) to stdout and train.log."""
        if not self.active:
            return
        line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {text}"
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line, flush=True)
        self.text.write(line + "\n")

    def step(self, step: int, values: dict[str, torch.Tensor], extra: dict[str, float]) -> None:
        """Record the values of one finished step (``step`` = steps done so far)."""
        if not self.active:
            return
        for key, value in values.items():
            value = value.detach().double() if value.device.type == "cpu" else value.detach().float()
            self.sums[key] = self.sums[key] + value if key in self.sums else value.clone()
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
        if step % self.config.every == 0 or step == self.total:
            self._flush(step, extra)

    def _flush(self, step: int, extra: dict[str, float]) -> None:
        now = time.perf_counter()
        means = {k: float(v) / self.count for k, v in self.sums.items()}  # one device sync per log
        # Wall time per step includes validation and checkpoints; time/step_seconds does not.
        means["time/wall_seconds_per_step"] = (now - self.window_start) / max(1, self.count)
        seconds = means.get("time/step_seconds", means["time/wall_seconds_per_step"])
        means.update(extra)
        self.sums, self.count, self.window_start = {}, 0, now
        done = step - self.start_step
        rate = done / max(1e-9, now - self.started)
        eta = (self.total - step) / rate if rate > 0 else math.inf
        record = {"step": step, **means}
        self.jsonl.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for key, value in means.items():
                self.tb.add_scalar(key, value, step)
        if "loss/generator" in means or "loss/discriminator" not in means:
            name, loss = "generator", means.get("loss/generator", math.nan)
            mel = means.get("loss/mel", math.nan)
            line = f"step {step}/{self.total} loss {loss:.4f} mel {mel:.4f} "
            postfix = {"loss": f"{loss:.3f}", "mel": f"{mel:.3f}"}
        else:  # a discriminator warm-up: the generator is not trained, so it has no loss
            name, loss = "discriminator", means["loss/discriminator"]
            line = f"step {step}/{self.total} discriminator warm-up, its loss {loss:.4f} "
            postfix = {"d_loss": f"{loss:.3f}"}
        line += f"{seconds:.3f} s/step eta {_duration(eta)}"
        if self.bar is not None:
            self.bar.set_postfix(**postfix)
        self.message(line)
        if not math.isfinite(loss):
            self.message(f"warning: the {name} loss is {loss} at step {step}")

    def validation(self, step: int, metrics: dict[str, float], real: torch.Tensor, fake: torch.Tensor,
                   sample_rate: int) -> None:
        """Validation metrics, plus audio and spectrograms of the first ``audio_items`` items."""
        if not self.active:
            return
        self.jsonl.write(json.dumps({"step": step, **metrics}) + "\n")
        main = {k: v for k, v in metrics.items() if not k.startswith("usage/") or k.endswith("efficiency")}
        self.message(f"validation at step {step}: " + " ".join(f"{k} {v:.4f}" for k, v in sorted(main.items())))
        if self.tb is None:
            return
        for key, value in metrics.items():
            self.tb.add_scalar(key, value, step)
        for i in range(min(self.config.audio_items, len(fake))):
            self.tb.add_audio(f"audio/{i}/output", fake[i, 0].clamp(-1, 1), step, sample_rate)
            self.tb.add_image(f"spectrogram/{i}/output", spectrogram_image(fake[i, 0]), step)
            if not self.references_written:
                self.tb.add_audio(f"audio/{i}/reference", real[i, 0], step, sample_rate)
                self.tb.add_image(f"spectrogram/{i}/reference", spectrogram_image(real[i, 0]), step)
        self.references_written = True
        self.tb.flush()

    def close(self) -> None:
        if not self.active:
            return
        if self.bar is not None:
            self.bar.close()
        if self.tb is not None:
            self.tb.close()
        self.text.close()
        self.jsonl.close()


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
