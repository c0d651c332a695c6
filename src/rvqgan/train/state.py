"""Training checkpoints: everything needed to continue, as safetensors shards + JSON.

Layout of ``RUN_DIR/checkpoints``::

    latest.json                   {"step": 1200, "dir": "step_00001200"}
    step_00001200/
        state.json                step, config, optimizer hyper-parameters and scalars,
                                  RNG states that are not tensors, sampler position
        generator.safetensors     parameters and buffers
        discriminator.safetensors
        optimizer_g.safetensors   AdamW moments and step counts ("<param>.<name>")
        optimizer_d.safetensors
        ema.safetensors           (when an EMA generator is kept)
        rng.safetensors           torch CPU / CUDA generator states, numpy's key

No pickle anywhere. A checkpoint is written into a hidden temporary folder and
renamed into place when complete; ``latest.json`` is then replaced atomically. A
crash at any moment therefore leaves the previous ``latest`` intact; leftovers of an
interrupted write are removed by the next save.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from rvqgan.errors import CheckpointError

FORMAT = "rvqgan-train-state"
VERSION = 1


@dataclass
class TrainState:
    """What a checkpoint holds, in memory (modules and optimizers are filled in place)."""

    step: int
    config: dict[str, Any]
    extra: dict[str, Any]


def _module_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    # Contiguous CPU copies: safetensors needs them, and the training tensors keep changing.
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in module.state_dict().items()}


def optimizer_split(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state as (tensors for safetensors, JSON-ready rest)."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for param, entries in state["state"].items():
        for name, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"{param}.{name}"] = value.detach().to("cpu", copy=True).contiguous()
            else:
                scalars[f"{param}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_join(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Load what :func:`optimizer_split` produced back into ``optimizer``."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in list(tensors.items()) + list(meta["scalars"].items()):
        param, name = key.split(".", 1)
        state.setdefault(int(param), {})[name] = value
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else dict(g) for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def rng_capture() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The process's RNG states: (tensors, JSON-ready rest)."""
    version, keys, gauss = random.getstate()
    kind, np_keys, pos, has_gauss, cached = np.random.get_state()
    tensors = {"torch_cpu": torch.get_rng_state(), "numpy_keys": torch.from_numpy(np_keys.astype(np.int64))}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"torch_cuda_{i}"] = s
    meta = {"python": [version, list(keys), gauss], "numpy": [kind, pos, has_gauss, cached]}
    return tensors, meta


def rng_restore(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Restore what :func:`rng_capture` saved (CUDA states only where the devices exist)."""
    version, keys, gauss = meta["python"]
    random.setstate((version, tuple(keys), gauss))
    kind, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((kind, tensors["numpy_keys"].numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["torch_cpu"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("torch_cuda_")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def find_checkpoint(path: str | Path) -> Path | None:
    """``path`` itself when it is a checkpoint folder (it holds ``state.json``), else the
    newest complete checkpoint of the run folder ``path``; None when there is none."""
    path = Path(path)
    if (path / "state.json").is_file():
        return path
    return CheckpointStore(path).latest()


class CheckpointStore:
    """Saves, finds and loads training checkpoints of one run folder.

    Args:
        run_dir: the run folder (checkpoints go to ``run_dir/checkpoints``).
        keep: number of most recent checkpoints kept.
    """

    def __init__(self, run_dir: str | Path, keep: int = 3) -> None:
        self.root = Path(run_dir) / "checkpoints"
        self.keep = keep

    def latest(self) -> Path | None:
        """The folder of the newest complete checkpoint, or None."""
        pointer = self.root / "latest.json"
        if pointer.is_file():
            try:
                folder = self.root / json.loads(pointer.read_text())["dir"]
                if (folder / "state.json").is_file():
                    return folder
            except (json.JSONDecodeError, KeyError, TypeError):
                pass
        complete = self._complete()
        return complete[-1] if complete else None

    def _complete(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        found = [p for p in self.root.glob("step_*") if p.is_dir() and (p / "state.json").is_file()]
        return sorted(found, key=lambda p: int(p.name.split("_")[1]))

    def save(
        self,
        step: int,
        modules: dict[str, nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
        config: dict[str, Any],
        extra: dict[str, Any] | None = None,
    ) -> Path:
        """Write the checkpoint of ``step`` atomically; prune old ones; return its folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"step_{step:08d}"
        final = self.root / name
        for leftover in self.root.glob(".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        tmp = self.root / f".tmp-{name}-{os.getpid()}"
        tmp.mkdir()
        meta: dict[str, Any] = {"format": FORMAT, "version": VERSION, "step": step, "time": time.time()}
        for key, module in modules.items():
            save_file(_module_tensors(module), str(tmp / f"{key}.safetensors"))
        meta["optimizers"] = {}
        for key, optimizer in optimizers.items():
            tensors, opt_meta = optimizer_split(optimizer)
            save_file(tensors, str(tmp / f"{key}.safetensors"))
            meta["optimizers"][key] = opt_meta
        rng_tensors, meta["rng"] = rng_capture()
        save_file(rng_tensors, str(tmp / "rng.safetensors"))
        meta["modules"] = sorted(modules)
        meta["config"] = config
        meta["extra"] = extra or {}
        (tmp / "state.json").write_text(json.dumps(meta, indent=1))
        _fsync_dir(tmp)
        if final.exists():  # e.g. the same step saved again on interruption
            shutil.rmtree(final)
        os.rename(tmp, final)
        _atomic_json(self.root / "latest.json", {"step": step, "dir": name})
        self._prune(final)
        return final

    def _prune(self, newest: Path) -> None:
        complete = [p for p in self._complete() if p != newest]
        for old in complete[: max(0, len(complete) - (self.keep - 1))]:
            shutil.rmtree(old, ignore_errors=True)

    def load(
        self,
        folder: Path,
        modules: dict[str, nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
        restore_rng: bool = True,
    ) -> TrainState:
        """Fill ``modules`` and ``optimizers`` from ``folder``; return step, config, extra.

        Raises:
            CheckpointError: a file is missing or corrupt, or does not match the modules.
        """
        try:
            meta = json.loads((folder / "state.json").read_text())
            if meta.get("format") != FORMAT or meta.get("version") != VERSION:
                raise CheckpointError(f"{folder}: not a version {VERSION} {FORMAT} checkpoint")
            for key, module in modules.items():
                tensors = load_file(str(folder / f"{key}.safetensors"))
                module.load_state_dict(tensors)
            for key, optimizer in optimizers.items():
                optimizer_join(optimizer, load_file(str(folder / f"{key}.safetensors")), meta["optimizers"][key])
            if restore_rng:
                rng_restore(load_file(str(folder / "rng.safetensors")), meta["rng"])
        except CheckpointError:
            raise
        except (OSError, ValueError, KeyError, RuntimeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{folder}: cannot resume from this checkpoint ({exc})") from exc
        return TrainState(step=int(meta["step"]), config=meta["config"], extra=meta.get("extra", {}))


def read_state(folder: str | Path) -> dict[str, Any]:
    """The ``state.json`` of a checkpoint folder (step, config, extra...)."""
    path = Path(folder) / "state.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint state ({exc})") from exc


def _atomic_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _fsync_dir(folder: Path) -> None:
    """Flush every file of ``folder`` to disk before it is renamed into place."""
    for item in folder.iterdir():
        with open(item, "rb") as handle:
            os.fsync(handle.fileno())
