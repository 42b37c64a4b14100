"""The weights a new run starts from (`init_from`): another run's networks, or a bundled generator."""

from __future__ import annotations

from typing import Any

from sneakergan.config import BUNDLED, TrainConfig
from sneakergan.errors import ConfigError, RunDirError
from sneakergan.inference.bundle import load_bundled
from sneakergan.inference.checkpoint import load_checkpoint
from sneakergan.inference.run_dir import RunDir

# The fields that decide the networks' shapes: a run can start from another's weights when they agree.
_GENERATOR_FIELDS = ("task", "architecture", "z_dim", "image_size", "g_width", "sr_blocks", "condition")
_SHAPE_FIELDS = (*_GENERATOR_FIELDS, "d_width", "spectral_norm")


def initial_model_state(cfg: TrainConfig) -> dict[str, Any]:
    """The model part (G, D, G's EMA, optimizers) of the checkpoint of the run `cfg.init_from` names,
    or {"generator": weights} of the bundled model of cfg's stage (`init_from = "bundled"`: a fresh D),
    checked against `cfg`'s networks before a new run folder exists: a RunDirError or ConfigError
    naming the mismatch otherwise."""
    if cfg.init_from == BUNDLED:
        weights, source_cfg = load_bundled("stage2" if cfg.task == "sr" else "stage1")
        fields, state = _GENERATOR_FIELDS, {"generator": weights}
    else:
        source = RunDir.open(cfg.init_from)
        source_cfg, fields, state = source.read_config(), _SHAPE_FIELDS, load_checkpoint(source.checkpoint)
        if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
            raise RunDirError(f"{{init_from}} {cfg.init_from}: checkpoint {source.checkpoint} holds no model state",
                              names=("init_from",))
        state = state["model"]
    differ = [f"{name} {getattr(source_cfg, name)!r} vs {getattr(cfg, name)!r}" for name in fields
              if getattr(source_cfg, name) != getattr(cfg, name)]
    if differ:
        raise ConfigError(f"{{init_from}} {cfg.init_from}: its networks differ from this config's "
                          f"({'; '.join(differ)})", names=("init_from",))
    return state
