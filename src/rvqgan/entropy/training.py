"""``rvqgan train-lm``: train a codec's code LM on its cached corpus codes, resumably.

The run folder holds ``lm_train.safetensors`` (weights, optimizer moments and RNG state,
written atomically every ``checkpoint_every`` steps; a run resumes from it by itself),
``lm_log.jsonl`` (one JSON object per logged step and per validation; validation gives
the cross-entropy in bits per code) and, unless ``data.cache_dir`` says otherwise, the
codes cache. When the run ends (its ``max_steps``, or ``--max-steps`` for this
invocation) the model is exported to integers, its validation bits per code measured
*with the integer model the coder will use*, and the LM and static tables are written
beside the codec, where ``rvqgan.load_model`` finds them.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from rvqgan.checkpoint import load_model_file
from rvqgan.config import to_dict
from rvqgan.entropy.codes_cache import read_items, split_items, tokenize
from rvqgan.entropy.export import export_lm
from rvqgan.entropy.integer_lm import IntegerLM
from rvqgan.entropy.lm import CodeLM
from rvqgan.entropy.model_files import lm_path_for, save_lm, save_static, static_path_for
from rvqgan.entropy.static import StaticTables, count_codes
from rvqgan.entropy.train_config import LMTrainConfig
from rvqgan.errors import CheckpointError, InputError

CHECKPOINT = "lm_train.safetensors"
LOG = "lm_log.jsonl"


class WindowSampler:
    """Random training windows: a random item (by length), a random crop, padding masked."""

    def __init__(self, codes: list[np.ndarray], window: int, rng: np.random.Generator) -> None:
        self.codes = [c for c in codes if c.shape[1] > 0]
        if not self.codes:
            raise InputError("no training codes: the corpus is empty or every item failed to load")
        lengths = np.array([min(c.shape[1], window) for c in self.codes], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.window, self.rng = window, rng

    def batch(self, size: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes ``[size, n, window]`` (int64) and mask ``[size, window]`` (True = real frame)."""
        codes = np.zeros((size, n, self.window), dtype=np.int64)
        mask = np.zeros((size, self.window), dtype=bool)
        for i, pick in enumerate(self.rng.choice(len(self.codes), size=size, p=self.weights)):
            item = self.codes[pick]
            start = int(self.rng.integers(0, max(1, item.shape[1] - self.window + 1)))
            piece = item[:n, start : start + self.window]
            codes[i, :, : piece.shape[1]] = piece
            mask[i, : piece.shape[1]] = True
        return torch.from_numpy(codes), torch.from_numpy(mask)


def validation_windows(codes: list[np.ndarray], window: int, limit: int) -> list[np.ndarray]:
    """Consecutive windows ``[K, <= window]`` of the validation items, at most ``limit``."""
    windows = []
    for item in codes:
        for start in range(0, item.shape[1], window):
            windows.append(item[:, start : start + window].astype(np.int64))
            if len(windows) >= limit:
                return windows
    return windows


def masked_bits(model: CodeLM, codes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean bits per code over the real frames (a differentiable scalar)."""
    logits = model(codes)  # [B, n, T, V]
    loss = torch.nn.functional.cross_entropy(logits.permute(0, 3, 1, 2), codes, reduction="none")  # [B, n, T]
    weights = mask[:, None, :].expand_as(loss).float()
    return (loss * weights).sum() / weights.sum().clamp(min=1) / math.log(2)


@torch.no_grad()
def float_bits(model: CodeLM, windows: list[np.ndarray], n: int) -> float:
    """Validation bits per code of the float model with ``n`` codebooks."""
    model.eval()
    total, count = 0.0, 0
    for window in windows:
        codes = torch.from_numpy(window[None, :n])
        bits = masked_bits(model, codes, torch.ones(1, window.shape[1], dtype=torch.bool))
        total, count = total + float(bits) * codes.numel(), count + codes.numel()
    model.train()
    return total / max(count, 1)


def integer_bits(lm: IntegerLM, windows: list[np.ndarray], n: int) -> float:
    """Validation bits per code of the integer model (exactly what the coder pays, less ANS overhead)."""
    total, count = 0.0, 0
    for window in windows:
        codes = window[None, :n]
        freqs = lm.frequencies(codes)  # [1, T, n, V]
        chosen = np.take_along_axis(freqs, codes.transpose(0, 2, 1)[..., None], axis=-1)
        total += float(np.sum(24 - np.log2(chosen.astype(np.float64))))
        count += codes.size
    return total / max(count, 1)


def learning_rate(config: LMTrainConfig, step: int) -> float:
    optim, total = config.optim, config.schedule.max_steps
    if step < optim.warmup_steps:
        return optim.lr * (step + 1) / optim.warmup_steps
    progress = min(1.0, (step - optim.warmup_steps) / max(1, total - optim.warmup_steps))
    low = optim.min_lr_fraction
    return optim.lr * (low + (1 - low) * 0.5 * (1 + math.cos(math.pi * progress)))


def save_checkpoint(
    run_dir: Path, model: CodeLM, optimizer: torch.optim.Optimizer, step: int, rng: np.random.Generator
) -> None:
    """Weights, optimizer moments and RNG states, atomically."""
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    state = optimizer.state_dict()
    scalars: dict[str, Any] = {}
    for pid, values in state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value) and value.dim() > 0:
                tensors[f"optim.{pid}.{key}"] = value.contiguous()
            else:
                scalars[f"{pid}.{key}"] = float(value)
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {
        "step": str(step),
        "scalars": json.dumps(scalars),
        "groups": json.dumps(state["param_groups"]),
        "numpy_rng": json.dumps(rng.bit_generator.state),
    }
    temp = run_dir / f".{CHECKPOINT}.partial"
    save_file(tensors, str(temp), metadata=meta)
    os.replace(temp, run_dir / CHECKPOINT)


def load_checkpoint(run_dir: Path, model: CodeLM, optimizer: torch.optim.Optimizer, rng: np.random.Generator) -> int:
    """Restore a run; returns the step to continue from (0 without a checkpoint)."""
    path = run_dir / CHECKPOINT
    if not path.is_file():
        return 0
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata()
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    except (RuntimeError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot resume ({exc}); delete it to start afresh") from exc
    state: dict[str, Any] = {"state": {}, "param_groups": json.loads(meta["groups"])}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state["state"].setdefault(int(pid), {})[name] = value
    for key, value in json.loads(meta["scalars"]).items():
        pid, name = key.split(".", 1)
        state["state"].setdefault(int(pid), {})[name] = torch.tensor(value)
    optimizer.load_state_dict(state)
    torch.set_rng_state(tensors["rng.torch"])
    rng.bit_generator.state = json.loads(meta["numpy_rng"])
    return int(meta["step"])


class RunLog:
    """Appends JSON lines to ``lm_log.jsonl`` and echoes a short line."""

    def __init__(self, run_dir: Path, echo: Callable[[str], None] | None) -> None:
        self.path, self.echo = run_dir / LOG, echo

    def __call__(self, **record: Any) -> None:
        record["time"] = round(time.time(), 3)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
        if self.echo:
            self.echo(
                " ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items() if k != "time"
                )
            )


def load_codes(config: LMTrainConfig, codec, run_dir: Path, log: RunLog) -> tuple[list, list]:
    """Tokenize (or read from the cache) the training and validation codes."""
    data = config.data
    cache = Path(data.cache_dir) if data.cache_dir else run_dir / "codes"
    echo = lambda line: log(event="tokenize", message=line)
    items = tokenize(
        codec, read_items(data.manifest, data.max_items), cache, max_seconds=data.max_seconds, progress=echo
    )
    if data.valid_manifest:
        train = items
        valid = tokenize(
            codec, read_items(data.valid_manifest, data.max_items), cache, max_seconds=data.max_seconds, progress=echo
        )
    else:
        train, valid = split_items(items, data.valid_fraction)
    return [item.load() for item in train], [item.load() for item in valid]


def codec_file(name_or_path: str) -> Path:
    """The checkpoint file of ``codec`` (a path, or a bundled model's file)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    from rvqgan.models import bundled_path

    return bundled_path(name_or_path)


def train_lm(
    config: LMTrainConfig,
    run_dir: str | os.PathLike,
    max_steps: int | None = None,
    echo: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Train (or resume) the code LM of ``config.codec``; export it when this invocation ends.

    Args:
        config: the recipe.
        run_dir: the run folder (created; resumed if it holds a checkpoint).
        max_steps: stop at this step in this invocation (the schedule is unchanged).
        echo: where progress lines go (``None``: nowhere).

    Returns:
        The exported models' card: steps, validation bits per code (float and integer
        model, per number of codebooks), paths and hashes.
    """

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    schedule = config.schedule
    torch.set_num_threads(schedule.threads)
    torch.manual_seed(schedule.seed)
    rng = np.random.default_rng(schedule.seed)
    log = RunLog(run_dir, echo)
    codec_path = codec_file(config.codec)
    codec = load_model_file(codec_path)  # not rvqgan.load_model: no audio or coder packages needed
    train_codes, valid_codes = load_codes(config, codec, run_dir, log)
    lm_config = config.model.for_codec(codec.n_codebooks, codec.codebook_size)
    model = CodeLM(lm_config).train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.optim.lr, betas=config.optim.betas, weight_decay=config.optim.weight_decay
    )
    step = load_checkpoint(run_dir, model, optimizer, rng)
    stop = min(schedule.max_steps, max_steps if max_steps is not None else schedule.max_steps)
    sampler = WindowSampler(train_codes, schedule.window_frames, rng)
    windows = validation_windows(valid_codes, schedule.window_frames, schedule.valid_windows)
    k = lm_config.n_codebooks
    log(
        event="start",
        step=step,
        stop=stop,
        parameters=sum(p.numel() for p in model.parameters()),
        train_items=len(train_codes),
        valid_items=len(valid_codes),
    )
    started, running = time.perf_counter(), []
    while step < stop:
        n = k if rng.random() < schedule.full_codebooks_prob else int(rng.integers(1, k + 1))
        codes, mask = sampler.batch(schedule.batch_size, n)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        loss = masked_bits(model, codes, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.optim.grad_clip)
        optimizer.step()
        step += 1
        running.append(float(loss.detach()))
        if step % schedule.log_every == 0:
            log(
                event="train",
                step=step,
                bits_per_code=float(np.mean(running)),
                lr=learning_rate(config, step),
                steps_per_s=len(running) / (time.perf_counter() - started),
            )
            started, running = time.perf_counter(), []
        if step % schedule.valid_every == 0 and windows:
            log(event="valid", step=step, n_codebooks=k, bits_per_code=float_bits(model, windows, k))
        if step % schedule.checkpoint_every == 0 or step == stop:
            save_checkpoint(run_dir, model, optimizer, step, rng)
    return export_run(config, model, codec, codec_path, train_codes, windows, step, log)


def export_run(
    config: LMTrainConfig,
    model: CodeLM,
    codec,
    codec_path: Path,
    train_codes: list[np.ndarray],
    windows: list[np.ndarray],
    step: int,
    log: RunLog,
) -> dict[str, Any]:
    """Export the LM (and static tables) beside the codec; measure the integer model."""
    model.eval()
    lm_config = model.config
    tensors = export_lm(model, config.export.weight_bits)
    lm = IntegerLM(lm_config, tensors)
    k = lm_config.n_codebooks
    counts = count_codes(train_codes, k, lm_config.codebook_size)
    static = StaticTables.from_counts(counts)
    valid_counts = count_codes(windows, k, lm_config.codebook_size)
    sizes = sorted({1, max(1, k // 2), k})
    card: dict[str, Any] = {
        "steps": step,
        "codec": {"name": codec.name, "hash": codec.content_hash},
        "recipe": to_dict(config),
        "train_frames": int(sum(c.shape[1] for c in train_codes)),
        "valid_windows": len(windows),
        "valid_bits_per_code": {
            str(n): {"float": float_bits(model, windows, n), "integer": integer_bits(lm, windows, n)} for n in sizes
        }
        if windows
        else {},
        "valid_static_bits_per_code": float(static.bits_per_code(valid_counts).mean()) if windows else None,
        "raw_bits_per_code": math.log2(lm_config.codebook_size),
    }
    name = config.export.name or codec.name
    lm_path = Path(config.export.lm_path) if config.export.lm_path else lm_path_for(codec_path)
    card["lm_hash"] = save_lm(
        lm_path,
        lm_config,
        tensors,
        name=f"{name}.lm",
        codec_name=codec.name,
        codec_hash=codec.content_hash,
        card=card,
        overwrite=True,
    )
    card["lm_path"] = str(lm_path)
    if config.export.static:
        static_path = Path(config.export.static_path) if config.export.static_path else static_path_for(codec_path)
        card["static_hash"] = save_static(
            static_path,
            static,
            name=f"{name}.static",
            codec_name=codec.name,
            codec_hash=codec.content_hash,
            card={"train_frames": card["train_frames"]},
            overwrite=True,
        )
        card["static_path"] = str(static_path)
    log(
        event="export",
        step=step,
        lm_path=card["lm_path"],
        valid=card["valid_bits_per_code"],
        static_bits_per_code=card["valid_static_bits_per_code"],
    )
    return card
