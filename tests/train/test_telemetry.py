"""What a running training says about itself: a wall-clock time on every metrics line, elapsed time and
time left in the plain log lines, and live TensorBoard scalars through the trainer's listeners."""

import json
import logging
import time

from sneakergan.inference.run_dir import RunDir
from sneakergan.train import live_tensorboard
from sneakergan.train.loop import Trainer
from sneakergan.train.progress import Progress
from tests.train.test_loop import _config, _images


class FakeWriter:
    def __init__(self, log_dir):
        self.log_dir, self.scalars, self.closed = log_dir, [], False

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_metrics_lines_carry_their_time_and_listeners_get_each_line(tmp_path, monkeypatch):
    monkeypatch.setattr(live_tensorboard, "summary_writer_class", lambda: FakeWriter)
    listener = live_tensorboard.LiveTensorBoard(tmp_path / "tb")
    cfg = _config()
    before = time.time()
    Trainer(cfg, RunDir.create(tmp_path / "run", cfg), _images(), progress=False, listeners=(listener,)).fit()
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert lines and all(before <= line["time"] <= time.time() for line in lines)
    writer = listener.writer
    tags = {tag for tag, _, _ in writer.scalars}
    assert writer.closed and tags >= {"train/d_loss", "train/g_loss", "train/img_per_s"}
    assert not any(tag in ("train/time", "train/step", "train/epoch") for tag, _, _ in writer.scalars)
    assert sorted({step for _, _, step in writer.scalars}) == [line["step"] for line in lines]


def test_plain_log_lines_say_the_time_elapsed_and_left(caplog, monkeypatch):
    clock = iter([100.0, 160.0])
    monkeypatch.setattr("sneakergan.train.progress.time.monotonic", lambda: next(clock))
    progress = Progress(total_steps=100, start_step=20, enabled=False)
    with caplog.at_level(logging.INFO, logger="sneakergan.train"):
        progress.update(40, {"epoch": 1, "d_loss": 1.0, "img_per_s": 50.0})
    assert "step 40/100" in caplog.text and "elapsed 1m00s, about 3m00s left" in caplog.text
