"""Training configuration: named TOML presets, `--set key=value` overrides, the resolved JSON.

A `TrainConfig` is frozen: overrides build a new one (never mutated in place), and the resolved
config is what the run folder records and what `--resume` reads back.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from sneakergan.errors import ConfigError

PRECISIONS = ("fp32", "bf16", "fp16", "auto")  # see inference/device.py

# A sampling seed: the signed 64-bit range, what torch's manual_seed, numpy and JSON readers all take
# without wrapping.
MAX_SEED = 2**63 - 1
# A training seed: the data order seeds torch with seed * 1_000_003 + epoch (train/schedule.epoch_order),
# which must stay below 2**63; this bound leaves room for any epoch count.
MAX_TRAINING_SEED = 2**43
# The studio's seeds: JavaScript numbers are exact up to 2**53 - 1, and the page adds to seeds.
MAX_PAGE_SEED = 2**53 - 1
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")  # what resolve_device accepts
CONDITIONS = ("", "price", "colour")  # TrainConfig.condition: what a class-conditional stage 1 is conditioned on
MAX_CLASSES = 1_000
# torchrun: the longest a process waits at a collective (torch's own default: rank 0's first quick-FID
# reference pass takes ~10 min on a CPU)
DEFAULT_TIMEOUT_S = 1800
BUNDLED = "bundled"  # init_from's and stage1_run's name for a bundled model rather than a run folder
# Widths are further bounded by the machine's memory (train/memory.py checks before training starts).
# Learning rates: Adam moves each weight by about lr per step, so beyond 1 every run diverges; the loss
# weights and penalties are used between 1e-3 and 100 in the literature.
_UPPER_BOUNDS = {"seed": MAX_TRAINING_SEED, "g_width": 65_536, "d_width": 65_536, "z_dim": 65_536, "sr_blocks": 256,
                 "batch_size": 65_536, "n_samples": 4_096, "eval_samples": 100_000, "image_size": 1_024,
                 "lr_g": 1.0, "lr_d": 1.0, "adv_weight": 1e4, "feature_weight": 1e4, "r1_gamma": 1e4,
                 "gp_weight": 1e4, "pixel_weight": 1e4, "consistency_weight": 1e4, "diversity_weight": 1e4}

AUGMENTATIONS = ("color", "translation", "cutout")  # DiffAugment's parts (train/augment.py), for `augment`


def parse_policy(policy: str) -> tuple[str, ...]:
    """A DiffAugment policy: 'color,translation' -> ('color', 'translation'); '' -> (); ValueError names an
    unknown part."""
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; known: {', '.join(AUGMENTATIONS)}")
    return names


@dataclass(frozen=True)
class TrainConfig:
    preset: str = "custom"
    description: str = ""
    task: str = "gan"  # "gan": stage 1, images from noise; "sr": stage 2, 4x super-resolution
    # model
    architecture: str = "mlp"
    loss: str = "bce"
    z_dim: int = 32
    image_size: int = 28  # the generated size: 28 for stage 1, the 112 HR output for "sr" (input 28)
    g_width: int = 1024
    d_width: int = 256
    # super-resolution (task "sr" only)
    sr_blocks: int = 8  # residual blocks in the SRResNet generator
    pixel_loss: str = "l1"  # "l1" or "l2" between SR and HR
    adv_weight: float = 1e-3  # adversarial term's weight, as in SRGAN
    feature_weight: float = 0.1  # content loss: D feature matching (offline stand-in for VGG loss)
    pretrain_epochs: int = 0  # first epochs train G on the pixel loss alone (SRResNet init)
    degrade: bool = False  # mild random noise / blur / colour jitter of the LR input in training
    pixel_weight: float = 1.0  # the pixel loss's weight (0 allowed: LR consistency alone then ties SR to LR)
    consistency_weight: float = 0.0  # L1 between the SR output downscaled as the data pipeline does and the LR
    sr_noise: bool = False  # noise inputs in G: many 112x112 realisations of one 28x28 input
    diversity_weight: float = 0.0  # rewards two realisations of one input for differing (needs sr_noise)
    d_sees_lr: bool = False  # D judges each image beside its upsampled LR input (a conditional D)
    stage1_run: str = ""  # a stage-1 run folder, or "bundled": part of each batch's LR from its samples ...
    stage1_share: float = 0.0  # ... this share of it (trained by consistency and D only: no HR target)
    # improved recipes (both stages, but gp_weight stage 1 only; all off in the design's seed presets)
    augment: str = ""  # DiffAugment policy for everything D sees, e.g. "color,translation,cutout"
    spectral_norm: bool = False  # spectral normalisation of every D layer
    r1_gamma: float = 0.0  # R1 penalty weight on real images (0: off), applied lazily ...
    r1_every: int = 16  # ... every this many D steps (StyleGAN2)
    gp_weight: float = 0.0  # WGAN-GP gradient penalty weight (0: off), e.g. 10 with loss "wgan"
    ema_decay: float = 0.0  # EMA of G's weights for samples and evaluation (0: off), e.g. 0.999
    # class-conditional stage 1 (cGAN): "" unconditional, "price" the data's class folders (e.g. cheap,
    # expensive), "colour" each image's dominant colour (data/colour.py)
    condition: str = ""
    class_names: tuple[str, ...] = ()  # the classes' names by label index: filled from the data by `train`
    # optimisation
    batch_size: int = 128
    epochs: int = 20
    max_steps: int = 0  # 0: run all epochs; otherwise stop after this many steps in total
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    beta1: float = 0.5
    beta2: float = 0.999
    seed: int = 0
    init_from: str = ""  # a run folder whose G and D weights (and G's EMA) a new run starts from; "bundled":
    # the bundled model of the config's stage (G only, D fresh)
    # data
    data: str = ""
    max_images: int = 0  # 0: all images; otherwise a fixed random subset of this size
    # outputs
    log_every: int = 10  # steps between metrics.jsonl lines
    sample_every: int = 1  # epochs between sample grids and D-output histograms
    checkpoint_every: int = 1  # epochs between checkpoints (one is always written at the end)
    keep_checkpoints: int = 1  # epoch checkpoints kept: 1 only checkpoint.safetensors; N also checkpoints/step_*
    n_samples: int = 64
    eval_every: int = 0  # epochs between quick FIDs during training (0: off); keeps the best checkpoint
    eval_samples: int = 2000
    device: str = "auto"
    precision: str = "fp32"  # "fp32", "bf16" (autocast; fp32 weights and optimiser) or "auto"
    compile: bool = False  # torch.compile G and D (costs compile time up front)
    # non-finite losses or gradients: that step's updates are skipped; after max_bad_steps in a row,
    # "rollback" (to the last checkpoint, learning rates times rollback_lr_factor) or "stop"
    on_nonfinite: str = "rollback"
    max_bad_steps: int = 20
    rollback_lr_factor: float = 0.5

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes).validated()

    def with_overrides(self, assignments: Iterable[str]) -> "TrainConfig":
        """Apply `key=value` strings, each value parsed as the field's type."""
        return self.replace(**parse_overrides(assignments))

    def validated(self) -> "TrainConfig":
        from sneakergan.losses import get_loss
        from sneakergan.models import get_architecture

        family = get_architecture(self.architecture)
        get_loss(self.loss)
        self._validate_task(family.task)
        for name in ("z_dim", "image_size", "g_width", "d_width", "batch_size", "epochs",
                     "log_every", "sample_every", "checkpoint_every", "n_samples", "sr_blocks", "keep_checkpoints",
                     "max_bad_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.eval_samples < 2:
            raise ConfigError(f"eval_samples must be >= 2, got {self.eval_samples}")
        for name in ("max_steps", "max_images", "seed", "eval_every", "pretrain_epochs", "adv_weight",
                     "feature_weight", "r1_gamma", "gp_weight", "pixel_weight", "consistency_weight",
                     "diversity_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.r1_every < 1:
            raise ConfigError(f"r1_every must be >= 1, got {self.r1_every}")
        self._validate_stage2()
        self._validate_condition(family.conditional)
        family.check_config(self)  # the architecture's own options and combinations
        try:
            parse_policy(self.augment)
        except ValueError as exc:
            raise ConfigError(f"augment: {exc}") from None
        if not 0 < self.rollback_lr_factor <= 1:
            raise ConfigError(f"rollback_lr_factor must be in (0, 1], got {self.rollback_lr_factor}")
        if self.on_nonfinite not in ("rollback", "stop"):
            raise ConfigError(f"on_nonfinite must be rollback or stop, got {self.on_nonfinite!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not DEVICE_PATTERN.fullmatch(self.device):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        self._validate_bounds()
        return self

    @property
    def n_classes(self) -> int:
        """Classes of a class-conditional run (0: unconditional, or not yet known before the data is loaded)."""
        return len(self.class_names) if self.condition else 0

    def require_classes(self) -> int:
        """n_classes of a class-conditional config, which must know its classes by now."""
        if not self.n_classes:
            raise ConfigError(f"condition {self.condition!r} needs class_names, which `sneakergan train` fills "
                              "from the data")
        return self.n_classes

    def _validate_condition(self, family_conditional: bool) -> None:
        if self.condition not in CONDITIONS:
            raise ConfigError(f"condition must be {', '.join(repr(c) for c in CONDITIONS)}, got {self.condition!r}")
        if not self.condition:
            if self.class_names:
                raise ConfigError("class_names belong to a class-conditional run; set condition too")
            return
        if self.task != "gan":
            raise ConfigError("condition applies to stage 1 (task gan) only")
        if not family_conditional:
            from sneakergan.models.registry import architecture_names, get_architecture

            able = [name for name in architecture_names() if get_architecture(name).conditional]
            raise ConfigError(f"architecture {self.architecture!r} has no class-conditional version "
                              f"(condition needs one of: {', '.join(able)})")
        if self.class_names:
            if len(self.class_names) < 2 or len(set(self.class_names)) != len(self.class_names) \
                    or not all(self.class_names):
                raise ConfigError(f"class_names must be two or more distinct non-empty names, got {self.class_names}")
            if len(self.class_names) > MAX_CLASSES:
                raise ConfigError(f"class_names: at most {MAX_CLASSES} classes, got {len(self.class_names)}")
            if self.condition == "colour":
                from sneakergan.data.colour import COLOUR_NAMES

                if self.class_names != COLOUR_NAMES:
                    raise ConfigError(f"class_names of condition colour must be {', '.join(COLOUR_NAMES)}")

    def _validate_bounds(self) -> None:
        """Upper bounds: an absurd value is a one-line error now, not an allocation traceback or a run whose
        every step is skipped as non-finite later. `not value <= limit` also refuses NaN."""
        for name, limit in _UPPER_BOUNDS.items():
            if not getattr(self, name) <= limit:
                shown = f"{limit:g}" if isinstance(limit, float) else limit
                raise ConfigError(f"{name} must be <= {shown}, got {getattr(self, name)}")

    def _validate_stage2(self) -> None:
        """Stage 2's fields refused on stage 1 (stage 2's own combinations: its family's check, models/srgan.py)."""
        stage2_only = {"consistency_weight": 0.0, "sr_noise": False, "diversity_weight": 0.0, "d_sees_lr": False,
                       "stage1_run": "", "stage1_share": 0.0}
        if self.task != "sr":
            given = [name for name, off in stage2_only.items() if getattr(self, name) != off]
            if given:
                raise ConfigError(f"{', '.join(given)} apply to stage 2 (task sr) only")
            return

    def _validate_task(self, family_task: str) -> None:
        from sneakergan.models.registry import architecture_tasks

        if self.task not in architecture_tasks():
            raise ConfigError(f"unknown task {self.task!r}; known: {', '.join(architecture_tasks())}")
        if family_task != self.task:
            raise ConfigError(f"architecture {self.architecture!r} is for task {family_task!r}, "
                              f"but task is {self.task!r}")
        if self.pixel_loss not in ("l1", "l2"):
            raise ConfigError(f"pixel_loss must be l1 or l2, got {self.pixel_loss!r}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, values: dict[str, Any], origin: str) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{origin}: unknown field(s) {', '.join(unknown)}{_closest(unknown[0])}; known: "
                              f"{', '.join(sorted(known))}")
        parsed = {key: _coerce(key, value, origin) for key, value in values.items()}
        return cls(**parsed).validated()


_FIELD_TYPES = {f.name: f.type for f in fields(TrainConfig)}
_NAMES = "tuple[str, ...]"


def _coerce(key: str, value: Any, origin: str) -> Any:
    kind = _FIELD_TYPES[key]
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == _NAMES:  # a JSON or TOML list of strings
        if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{origin}: {key} must be a list of strings, got {value!r}")
        return tuple(value)
    expected = {"int": int, "float": float, "str": str, "bool": bool}[kind]
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{origin}: {key} must be {kind}, got {value!r}")
    return value


def _closest(name: str) -> str:
    """", did you mean 'g_width'?" for a misspelt field name, or nothing when none is close."""
    close = difflib.get_close_matches(name, _FIELD_TYPES, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_overrides(assignments: Iterable[str]) -> dict[str, Any]:
    """`key=value` strings -> {field: value parsed as the field's type}."""
    changes: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise ConfigError(f"an override must be key=value, got {assignment!r}")
        changes[key] = parse_field(key, raw.strip())
    return changes


def parse_field(key: str, raw: str) -> Any:
    if key not in _FIELD_TYPES:
        raise ConfigError(f"unknown config field {key!r}{_closest(key)}; known: {', '.join(sorted(_FIELD_TYPES))}")
    kind = _FIELD_TYPES[key]
    if kind == _NAMES:
        raise ConfigError(f"{key} cannot be set: `sneakergan train` fills it from the data (set condition instead)")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
    except ValueError:
        raise ConfigError(f"{key} must be {kind}, got {raw!r}") from None
    return raw


def preset_names() -> list[str]:
    folder = resources.files("sneakergan") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def preset_values(name: str) -> dict[str, Any]:
    """A preset's fields as written (not yet validated): a bundled preset by name, or a .toml file of your own
    (its file name, without .toml, becomes the preset's name)."""
    if name.endswith(".toml"):
        path, origin, short = Path(name), f"preset file {name}", Path(name).stem
        if not path.is_file():
            raise ConfigError(f"preset file {name} does not exist")
    else:
        path, origin, short = resources.files("sneakergan") / "presets" / f"{name}.toml", f"preset {name}", name
        if not path.is_file():
            raise ConfigError(f"unknown preset {name!r}; known: {', '.join(preset_names())}"
                              " (or a path to a .toml file)")
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{origin} cannot be read: {exc}") from None
    return {"preset": short, **values}


def load_preset(name: str) -> TrainConfig:
    return TrainConfig.from_dict(preset_values(name), origin=f"preset {name}")


def load_config_json(text: str, origin: str) -> TrainConfig:
    try:
        values = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: nested beyond any config
        raise ConfigError(f"{origin} is not valid JSON: {exc}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{origin} must hold a JSON object")
    return TrainConfig.from_dict(values, origin)
