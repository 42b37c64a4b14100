"""The demos train tiny models: one thread each."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run on one thread, then restore the setting. The demos' matrices are too small to split: on two
    cores shared with a training job, two threads that wait for each other made the mode-collapse demo
    8-10x slower than one thread (100 steps: 16-21 s vs 2 s) and the tiny cGAN 8x slower (25 vs 205 img/s)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
