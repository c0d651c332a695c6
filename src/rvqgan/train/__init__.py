"""Training: the recipe, the GAN step, checkpoints and resume, distributed setup, logging, export.

Example::

    from rvqgan.train import load_config, train

    config = load_config("configs/small_cpu.yaml", ["schedule.max_steps=1000"])
    train(config, "runs/small")
"""

from rvqgan.train.config import (
    LogConfig,
    LossConfig,
    OptimConfig,
    QuantizerConfig,
    ScheduleConfig,
    TrainConfig,
    config_from_dict,
    load_config,
)
from rvqgan.train.export import export_run
from rvqgan.train.factory import build_generator, build_models
from rvqgan.train.loop import Trainer, train
from rvqgan.train.state import CheckpointStore

__all__ = [
    "CheckpointStore",
    "LogConfig",
    "LossConfig",
    "OptimConfig",
    "QuantizerConfig",
    "ScheduleConfig",
    "TrainConfig",
    "Trainer",
    "build_generator",
    "build_models",
    "config_from_dict",
    "export_run",
    "load_config",
    "train",
]
