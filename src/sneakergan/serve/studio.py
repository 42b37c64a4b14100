"""The studio's models: stage 1 and stage 2, loaded once and shared by all requests.

Every sneaker is made exactly as `sneakergan generate --seed s -n 1` makes its only one (stage 1 at
batch size 1, then stage 2 at batch size 1), so tile i of a request for seed s is seed s + i's sneaker
whatever the request around it: "more", a clicked tile and the command line agree to the pixel.
The models run one request at a time (a lock), in a worker thread, under the pipeline's precision.
At most MAX_WAITING requests wait for them; a request whose client left, or whose time ran out, gives
up its place, and one that is generating stops at the next sneaker.
"""

from __future__ import annotations

import asyncio
import base64
import io
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, TypeVar

import numpy as np
from PIL import Image

from sneakergan.errors import ConfigError
from sneakergan.inference.pipeline import Pipeline

T = TypeVar("T")

MAX_WAITING = 8  # requests that may wait for the models behind the one using them; more get 503 at once
POLL_S = 0.1  # how often a waiting request checks whether its client left (and its job whether to give up)
StopCheck = Callable[[], bool]


class StudioTimeout(Exception):
    """A request ran out of time; `started`: whether it got the models (False: they were busy)."""

    def __init__(self, started: bool, timeout: float) -> None:
        self.started, self.timeout = started, timeout
        what = "generating took longer than" if started else "the models stayed busy for"
        super().__init__(f"{what} the server's limit of {timeout:g} s; try again, or ask for fewer images")


class StudioBusy(Exception):
    """MAX_WAITING requests already wait for the models."""

    def __init__(self) -> None:
        super().__init__(f"the server is busy: {MAX_WAITING} requests are already waiting for the models; "
                         "try again in a few seconds")


class Abandoned(Exception):
    """The request was given up (its client left, or its time ran out): the rest of its work is not done."""


def _check(should_stop: StopCheck | None) -> None:
    if should_stop is not None and should_stop():
        raise Abandoned("the request was given up")


@dataclass(frozen=True)
class Sneaker:
    seed: int
    lr: np.ndarray  # stage 1's uint8 28x28x3
    sr: np.ndarray | None  # stage 2's uint8 112x112x3 (None when only stage 1 was asked for)


def png_base64(image: np.ndarray) -> str:
    """A uint8 HxWx3 image as base64 PNG bytes (what a data: URL or a JSON field carries)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class Studio:
    def __init__(self, lr_run: str | Path | None = None, sr_run: str | Path | None = None, device: str = "cpu",
                 precision: str = "auto") -> None:
        self.pipeline = Pipeline.load(lr_run, sr_run, device=device, precision=precision)
        self.stage1 = "bundled" if lr_run is None else str(lr_run)
        self.stage2 = "none" if self.pipeline.single_stage else "bundled" if sr_run is None else str(sr_run)
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()  # guards `waiting` (requests may run on more than one thread)
        self.waiting = 0  # requests waiting for the models (not counting the one using them)

    def label_problem(self, label: str | None, needed: bool = False) -> str | None:
        """Why `label` cannot be used with this stage-1 model, or None when it can. `needed`: a
        class-conditional model must be given one (interpolation keeps one class along the path)."""
        try:
            self.pipeline.class_index(label, needed)
        except ConfigError as exc:
            return str(exc)
        return None

    def sneakers(self, seed: int, count: int, stage: str, label: str | None = None,
                 should_stop: StopCheck | None = None, sr_seed: int = 0) -> list[Sneaker]:
        """Seeds seed .. seed + count - 1, one sneaker each, stage 2's details from `sr_seed` (as
        `generate --seed s -n 1 --sr-seed sr_seed`); call through `run` (the lock). A single-stage
        model's sneakers are full size at either stage. Raises Abandoned before any sneaker once
        `should_stop()` is true."""
        made = []
        for tile_seed in range(seed, seed + count):
            _check(should_stop)
            lr = self.pipeline.sample_lr(1, tile_seed, label)
            sr = self.pipeline.upscale(lr, seed=sr_seed)[0] if stage == "sr" else None
            made.append(Sneaker(tile_seed, lr[0], sr))
        return made

    def morph(self, seeds: list[int], steps: int, stage: str, label: str | None = None,
              should_stop: StopCheck | None = None) -> np.ndarray:
        """uint8 NHWC frames from seed to seed (the ends are the seeds' sneakers); call through `run`.
        Raises Abandoned before any stage-2 frame once `should_stop()` is true."""
        frames = self.pipeline.frames(seeds, steps, label)
        if stage == "lr":
            return frames
        made = []
        for frame in frames:  # stage 2 is the slow part: one frame at a time, so that it can stop early
            _check(should_stop)
            made.append(self.pipeline.upscale(frame[None]))
        return np.concatenate(made)

    async def run(self, work: Callable[[StopCheck], T], timeout: float,
                  disconnected: Callable[[], Awaitable[bool]] | None = None) -> T:
        """`work(should_stop)` in a worker thread holding the models, within `timeout` seconds (else
        StudioTimeout); StudioBusy at once when MAX_WAITING requests already wait for the models.

        The request gives up (Abandoned) once `await disconnected()` is true: its client left. A request
        that gives up, or times out, while waiting for the lock gives up its place; one that does so
        while generating cannot be interrupted mid-sneaker, so `should_stop()` turns true for `work` to
        stop at the next one, and the lock makes later requests wait for that rather than compete with
        it for the cores."""
        with self._count_lock:
            if self.waiting >= MAX_WAITING:
                raise StudioBusy()
            self.waiting += 1
        queued = True

        def dequeue() -> None:  # once: when the job gets the models, or when the request ends
            nonlocal queued
            with self._count_lock:
                if queued:
                    self.waiting, queued = self.waiting - 1, False

        deadline = time.monotonic() + timeout
        started, given_up = threading.Event(), threading.Event()

        def should_stop() -> bool:
            return given_up.is_set() or time.monotonic() >= deadline

        def job() -> T:
            while not self._lock.acquire(timeout=POLL_S):  # in slices, to leave soon once given up
                if should_stop():
                    raise Abandoned("given up while waiting for the models")
            try:
                dequeue()
                if should_stop():  # given up while it waited: do not spend the cores on it
                    raise Abandoned("given up while waiting for the models")
                started.set()
                return work(should_stop)
            finally:
                self._lock.release()

        task = asyncio.ensure_future(asyncio.to_thread(job))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved even if left
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=min(POLL_S, max(0.0, deadline - time.monotonic())))
                if task.done():
                    break
                if time.monotonic() >= deadline:
                    raise StudioTimeout(started.is_set(), timeout)
                if disconnected is not None and await disconnected():
                    raise Abandoned("the client left")
            try:
                return task.result()
            except Abandoned:  # only `deadline` stops the job before `given_up` is set
                raise StudioTimeout(started.is_set(), timeout) from None
        finally:
            given_up.set()
            dequeue()
