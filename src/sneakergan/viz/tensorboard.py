"""TensorBoard's event writer, which needs the optional `tensorboard` package (pip install
'sneakergan[tensorboard]'): used live by the trainer (`train --tensorboard`) and after the fact by
`report --tensorboard`."""

from __future__ import annotations

from sneakergan.errors import ConfigError
from sneakergan.io import is_number

NOT_SCALARS = {"step", "epoch", "time"}  # a metrics line's keys that are not series to plot


def summary_writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("--tensorboard needs the tensorboard package: "
                          "pip install 'sneakergan[tensorboard]'") from None
    return SummaryWriter


def scalars_of(record: dict) -> dict[str, float]:
    """A metrics line's numeric series (not its step, epoch or time)."""
    return {key: float(value) for key, value in record.items() if key not in NOT_SCALARS and is_number(value)}
