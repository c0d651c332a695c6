"""The training loop: setup, resume, iterate, validate, checkpoint, stop cleanly.

``Trainer(config, run_dir).run()`` trains until ``schedule.max_steps`` (or the
``max_steps`` given), resuming from the newest checkpoint in ``run_dir`` if any.
SIGINT and SIGTERM finish the current step, write a checkpoint and return.

Everything random in a step is a pure function of (seed, step, rank): the batch
(see :mod:`rvqgan.data.dataset`) and the torch generator, reseeded before each step.
An interrupted run that is resumed therefore reaches the same weights as one that
never stopped.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import torch
import yaml
from torch.nn.parallel import DistributedDataParallel

from rvqgan.config import to_dict
from rvqgan.data.dataset import ExcerptDataset, make_loader, validation_excerpts
from rvqgan.data.setup import ensure_cache, open_caches
from rvqgan.errors import CheckpointError
from rvqgan.model import CodecOutput
from rvqgan.train.config import TrainConfig
from rvqgan.train.distributed import DistInfo, any_rank, barrier, init_distributed, step_seed
from rvqgan.train.ema import ModelEMA
from rvqgan.train.factory import build_models, build_optimizers, freeze_except, set_learning_rate
from rvqgan.train.logging import RunLogger
from rvqgan.train.restart import CodeRestarter
from rvqgan.train.state import CheckpointStore, find_checkpoint
from rvqgan.train.step import GanStep
from rvqgan.train.validate import Validator, count_parameters

# Sections that fix the networks' shapes: a checkpoint of another architecture cannot be resumed.
ARCHITECTURE = ("model", "quantizer", "discriminator")
# Keys of those sections that are training rules, free to change at resume.
TRAINING_RULES = {"quantizer": ("restart_after", "restart_check_every")}


def _architecture(config: dict, section: str) -> dict:
    return {k: v for k, v in (config.get(section) or {}).items() if k not in TRAINING_RULES.get(section, ())}


class StopFlag:
    """Set by SIGINT / SIGTERM while installed; the loop stops after the current step."""

    def __init__(self) -> None:
        self.requested = False
        self.previous: dict[int, object] = {}

    def _handler(self, signum: int, frame: object) -> None:
        self.requested = True

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, self._handler)
            except ValueError:  # not the main thread: signals cannot be caught here
                pass

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}


class Trainer:
    """Owns the models, optimizers, data and checkpoints of one run.

    Args:
        config: the recipe.
        run_dir: where checkpoints and logs go; a checkpoint there is resumed.
        max_steps: stop at this step in this invocation (default ``schedule.max_steps``).
        info: the process's place in a distributed run (default: from torchrun's environment).
    """

    def __init__(self, config: TrainConfig, run_dir: str | Path, max_steps: int | None = None,
                 info: DistInfo | None = None) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.info = info or init_distributed(config.schedule.device)
        sched = config.schedule
        self.stop_at = sched.max_steps if max_steps is None else min(max_steps, sched.max_steps)
        if sched.threads:
            torch.set_num_threads(sched.threads)
        device = self.info.device
        self.generator, self.discriminator = build_models(config)
        self.generator.to(device)
        self.discriminator.to(device)
        self.trainable = freeze_except(self.generator, sched.trainable)
        self.optimizer_g, self.optimizer_d = build_optimizers(config.optim, self.generator, self.discriminator)
        self.ema = ModelEMA(self.generator, sched.ema_decay) if sched.ema_decay else None
        self.store = CheckpointStore(self.run_dir, sched.keep_checkpoints)
        self.step = 0
        self.resumed_from: Path | None = None
        self.initialized_from: str | None = None
        self._resumed_extra: dict = {}
        self._resume()
        self.train_cache, self.valid_cache = self._open_data()
        self.dataset = ExcerptDataset(self.train_cache, config.data, sched.batch_size, sched.seed)
        valid_audio = (
            validation_excerpts(self.valid_cache, config.data.valid_items, config.data.valid_seconds,
                                config.data.loudness_db)
            if self.valid_cache is not None else None
        )
        self.validator = Validator(valid_audio, config.model.sample_rate) if valid_audio is not None else None
        self.g_train, self.d_train = self._wrap()
        self.restarter = self._restarter()
        self.gan_step = GanStep(config, self.g_train, self.d_train, self.discriminator, self.optimizer_g,
                                self.optimizer_d, device, self._balancer())

    # -- setup ------------------------------------------------------------------------
    def _modules(self) -> dict[str, torch.nn.Module]:
        modules = {"generator": self.generator, "discriminator": self.discriminator}
        if self.ema is not None:
            modules["ema"] = self.ema.module
        return modules

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"optimizer_g": self.optimizer_g, "optimizer_d": self.optimizer_d}

    def _resume(self) -> None:
        folder = self.store.latest()
        if folder is None:
            if self.config.schedule.init_from:
                self._initialize(Path(self.config.schedule.init_from))
                self.step = self.config.schedule.init_step
            return
        saved = self.store.load(folder, {}, {}, restore_rng=False).config
        current = to_dict(self.config)
        for section in ARCHITECTURE:
            if _architecture(saved, section) != _architecture(current, section):
                raise CheckpointError(
                    f"{folder} was trained with another {section} configuration; resume it with its own recipe "
                    f"({self.run_dir / 'config.yaml'}) or train in another --run-dir"
                )
        modules = self._modules()
        if self.ema is not None and not (folder / "ema.safetensors").is_file():
            modules.pop("ema")  # EMA switched on at resume: it starts from the current weights
        state = self.store.load(folder, modules, self._optimizers())
        if self.ema is not None and "ema" not in modules:
            self.ema.module.load_state_dict(self.generator.state_dict())
        self.step = state.step
        self.resumed_from = folder
        self._resumed_extra = state.extra

    def _initialize(self, source: Path) -> None:
        """Fine-tuning: take the weights of another run's checkpoint or of a model file."""
        if source.is_file():
            from rvqgan.checkpoint import load_model_file

            model = load_model_file(source, fold=False)
            try:
                self.generator.load_state_dict(model.state_dict())
            except RuntimeError as exc:
                raise CheckpointError(f"schedule.init_from={source}: its generator does not fit this recipe ({exc})") from None
            self.initialized_from = str(source)
            return
        folder = find_checkpoint(source)
        if folder is None:
            raise CheckpointError(f"schedule.init_from={source}: neither a model file, a checkpoint folder nor a run "
                                  "folder with a checkpoint")
        self.store.load(folder, {"generator": self.generator, "discriminator": self.discriminator}, {},
                        restore_rng=False)
        self.initialized_from = str(folder)

    def _open_data(self):
        data = self.config.data
        if self.info.is_main:
            ensure_cache(data, self.config.model.sample_rate)
        barrier(self.info)
        return open_caches(data, self.config.model.sample_rate)

    def _wrap(self):
        if not self.info.distributed:
            return self.generator, self.discriminator
        ids = [self.info.device.index] if self.info.device.type == "cuda" else None
        # Quantizer dropout leaves the last codebooks unused in some steps: find them.
        g = DistributedDataParallel(self.generator, device_ids=ids, find_unused_parameters=True,
                                    broadcast_buffers=False)
        d = DistributedDataParallel(self.discriminator, device_ids=ids, broadcast_buffers=False)
        return g, d

    def _balancer(self):
        loss = self.config.loss
        if not loss.balancer:
            return None
        from rvqgan.losses import GradientBalancer

        weights = {k: v for k, v in to_dict(loss.weights).items() if k not in ("codebook", "commitment")}
        balancer = GradientBalancer(weights, ema_decay=loss.balancer_ema)
        if "balancer" in self._resumed_extra:
            balancer.load_state_dict(self._resumed_extra["balancer"])
        return balancer

    def _restarter(self) -> CodeRestarter | None:
        q = self.config.quantizer
        if not q.restart_after:
            return None
        restarter = CodeRestarter(self.generator.quantizer, q.restart_after, q.restart_check_every,
                                  self.optimizer_g, distributed=self.info.distributed)
        if "code_restart" in self._resumed_extra:
            restarter.load_state_dict(self._resumed_extra["code_restart"])
        else:  # switched on now (or a fresh run): every code counts as used at this step
            restarter.last_used.fill_(self.step)
        return restarter

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> int:
        """Train up to ``stop_at``; return the step reached (checkpointed)."""
        sched, info = self.config.schedule, self.info
        logger = RunLogger(self.run_dir, self.config.log, self.stop_at, self.step, active=info.is_main)
        self._announce(logger)
        stop = StopFlag()
        stop.install()
        loader = make_loader(self.dataset, self.step, self.stop_at, sched.batch_size, info.rank, info.world,
                             pin_memory=info.device.type == "cuda")
        if self.step >= self.stop_at:
            logger.message(f"nothing to do: the run is at step {self.step} of {self.stop_at}")
        try:
            if self.resumed_from is None and self.step < self.stop_at:
                self.validate(logger)  # where a fresh run starts (step 0, or init_step)
            waited = time.perf_counter()
            for audio, _ in loader:
                started = time.perf_counter()
                logs = self.train_step(audio.to(info.device, non_blocking=True))
                logs["time/data_seconds"] = torch.tensor(started - waited)
                logs["time/step_seconds"] = torch.tensor(time.perf_counter() - started)
                self._after_step(logger, logs)
                stopped = any_rank(stop.requested, info)
                if stopped or self.step % sched.checkpoint_every == 0 or self.step >= self.stop_at:
                    self.save(logger)
                if stopped:
                    logger.message(f"stopped by a signal at step {self.step}; run the same command to resume")
                    break
                waited = time.perf_counter()
        finally:
            stop.restore()
            logger.close()
        return self.step

    def train_step(self, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        """One iteration on this rank's batch (B/world, 1, T); advances ``self.step``."""
        sched, optim = self.config.schedule, self.config.optim
        torch.manual_seed(step_seed(sched.seed, self.step, self.info.rank))
        g_rate, d_rate = optim.learning_rates(self.step)
        lr = set_learning_rate(self.optimizer_g, g_rate)
        d_lr = set_learning_rate(self.optimizer_d, d_rate)
        seen: list[CodecOutput] = []
        frozen = self.gan_step.frozen(self.step)
        logs = self.gan_step(audio, self.step, seen.append if self.restarter is not None else None)
        if self.ema is not None and not frozen:
            self.ema.update(self.generator)
        self.step += 1
        if self.restarter is not None and frozen:
            self.restarter.hold(self.step)
        elif self.restarter is not None:
            out = seen[0]
            logs.update(self.restarter.observe(out.codes, out.latents, out.n_quantizers, self.step))
        logs["lr/generator"] = torch.tensor(lr, dtype=torch.float64)
        logs["lr/discriminator"] = torch.tensor(d_lr, dtype=torch.float64)
        return logs

    def _after_step(self, logger: RunLogger, logs: dict[str, torch.Tensor]) -> None:
        seconds = self.config.data.excerpt_seconds * self.config.schedule.batch_size
        logger.step(self.step, logs, {"time/audio_seconds_per_step": seconds})
        if self.step % self.config.schedule.valid_every == 0:
            self.validate(logger)

    def validate(self, logger: RunLogger) -> dict[str, float]:
        """Validation metrics of the generator (and of its EMA copy), on rank 0."""
        metrics: dict[str, float] = {}
        if self.validator is not None and self.info.is_main:
            metrics, fake = self.validator(self.generator, self.info.device)
            if self.ema is not None:
                ema_metrics, _ = self.validator(self.ema.module, self.info.device)
                metrics.update({k.replace("valid/", "valid_ema/"): v for k, v in ema_metrics.items()
                                if k.startswith("valid/")})
            logger.validation(self.step, metrics, self.validator.audio, fake, self.config.model.sample_rate)
        barrier(self.info)
        return metrics

    def save(self, logger: RunLogger | None = None) -> None:
        """Write a checkpoint of the current step (rank 0), then wait for every rank."""
        if self.info.is_main:
            extra = {"sampler_step": self.step, "world": self.info.world, "data": self.data_summary()}
            if self.initialized_from is not None or "initialized_from" in self._resumed_extra:
                extra["initialized_from"] = self.initialized_from or self._resumed_extra["initialized_from"]
            if self.gan_step.balancer is not None:
                extra["balancer"] = self.gan_step.balancer.state_dict()
            if self.restarter is not None:
                extra["code_restart"] = self.restarter.state_dict()
            folder = self.store.save(self.step, self._modules(), self._optimizers(), to_dict(self.config), extra)
            if logger is not None:
                logger.message(f"checkpoint {folder}")
        barrier(self.info)

    def data_summary(self) -> dict:
        """What the model was trained on (for the model card)."""
        cache = self.train_cache
        domains: dict[str, float] = {}
        for f in cache.files:
            domains[f.domain] = domains.get(f.domain, 0.0) + f.length / cache.sample_rate / 3600
        return {
            "cache": str(cache.folder),
            "files": len(cache.files),
            "hours": round(sum(domains.values()), 3),
            "hours_per_domain": {k: round(v, 3) for k, v in sorted(domains.items())},
            "full_band_files": sum(f.full_band for f in cache.files),
            "skipped_files": len(cache.skipped),
            "validation_files": len(self.valid_cache.files) if self.valid_cache is not None else 0,
        }

    def _announce(self, logger: RunLogger) -> None:
        if not self.info.is_main:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(self.config), sort_keys=False))
        where = f"resuming from {self.resumed_from}" if self.resumed_from else "starting"
        if self.initialized_from and not self.resumed_from:
            where = f"starting from the weights of {self.initialized_from}"
        frozen_until = self.config.schedule.frozen_until
        if self.step < frozen_until:
            where += (f" (the generator stays frozen until step {frozen_until} while the discriminator warms up)")
        if self.config.schedule.trainable:
            where += f" (only {self.trainable / 1e6:.2f} M generator parameters train: schedule.trainable)"
        logger.message(
            f"{where} at step {self.step} of {self.stop_at}; {self.info.world} process(es) on {self.info.device}; "
            f"generator {count_parameters(self.generator) / 1e6:.2f} M, "
            f"discriminator {count_parameters(self.discriminator) / 1e6:.2f} M parameters; "
            f"{len(self.train_cache)} training files ({self.train_cache.seconds() / 3600:.2f} h), "
            f"{len(self.train_cache.skipped)} unreadable skipped"
        )
        if self.config.schedule.batch_size % len(self.dataset.sampler.domains):
            logger.message(f"warning: batch size {self.config.schedule.batch_size} is not a multiple of the "
                           f"{len(self.dataset.sampler.domains)} domains; batches are balanced only approximately")
        if self.validator is None:
            logger.message("warning: no validation files (set data.valid_cache or data.valid_files_per_domain)")


def train(config: TrainConfig, run_dir: str | Path, max_steps: int | None = None) -> int:
    """Train (or resume) a run; return the step reached."""
    return Trainer(config, run_dir, max_steps).run()
