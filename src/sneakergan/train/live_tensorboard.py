"""`train --tensorboard LOGDIR`: each metrics line's series written as TensorBoard scalars while training
runs (report --tensorboard converts a run's files after the fact, samples and histograms included)."""

from __future__ import annotations

from pathlib import Path

from sneakergan.viz.tensorboard import scalars_of, summary_writer_class


class LiveTensorBoard:
    """A trainer listener: `record(line)` at every metrics line, `close()` at the end."""

    def __init__(self, logdir: Path):
        self.writer = summary_writer_class()(log_dir=str(logdir))

    def record(self, record: dict) -> None:
        for key, value in scalars_of(record).items():
            self.writer.add_scalar(f"train/{key}", value, record["step"])
        self.writer.flush()  # visible in TensorBoard now, not when the writer's buffer fills

    def close(self) -> None:
        self.writer.close()
