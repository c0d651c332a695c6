"""Export a run's generator as a codec checkpoint that ``rvqgan.load_model`` reads."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from rvqgan.checkpoint import save_model
from rvqgan.config import from_dict
from rvqgan.errors import CheckpointError, ConfigError
from rvqgan.model import Codec
from rvqgan.train.config import TrainConfig
from rvqgan.train.state import find_checkpoint, read_state


def export_run(
    run_dir: str | Path,
    output: str | Path,
    *,
    ema: bool = False,
    dtype: torch.dtype = torch.float32,
    name: str | None = None,
    overwrite: bool = False,
) -> str:
    """Write a checkpoint's generator (or its EMA copy) to ``output``.

    ``run_dir`` is a run folder (its newest checkpoint is taken) or one checkpoint
    folder of a run (``RUN/checkpoints/step_00005000``), to export an older step.
    The model card records the steps, the full recipe, what data it saw, and which
    weights were taken.

    Returns:
        str: the content hash of the written file.

    Raises:
        CheckpointError: no checkpoint in ``run_dir``, or no EMA weights when ``ema``.
        ConfigError: the run used the EMA + k-means quantizer, which the codec format
            (cosine look-up) cannot describe.
    """
    run_dir = Path(run_dir)
    folder = find_checkpoint(run_dir)
    if folder is None:
        raise CheckpointError(f"{run_dir} holds no training checkpoint (expected {run_dir}/checkpoints/latest.json)")
    if folder == run_dir:  # given one checkpoint folder, RUN/checkpoints/step_N
        run_dir = folder.parent.parent
    state = read_state(folder)
    config = from_dict(TrainConfig, state["config"])
    if config.quantizer.kind != "factorized":
        raise ConfigError(f"{run_dir} was trained with quantizer.kind={config.quantizer.kind!r}; only the paper's "
                          "factorized quantizer can be exported to the codec format")
    source = folder / ("ema.safetensors" if ema else "generator.safetensors")
    if not source.is_file():
        raise CheckpointError(f"{source} not found" + ("; the run kept no EMA copy (schedule.ema_decay)" if ema else ""))
    model = Codec(config.model)
    try:
        model.load_state_dict(load_file(str(source)))
    except (RuntimeError, OSError) as exc:
        raise CheckpointError(f"{source}: does not match the run's model config ({exc})") from exc
    card = {
        "steps": state["step"],
        "weights": "ema" if ema else "generator",
        "recipe": state["config"],
        "data": state.get("extra", {}).get("data", {}),
        "trained_with": "rvqgan train",
        "run": run_dir.name,
    }
    return save_model(model, output, name=name, dtype=dtype, card=card, overwrite=overwrite)
