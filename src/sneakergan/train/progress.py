"""Progress: a tqdm bar on a terminal, plain log lines otherwise (CI logs, nohup, files)."""

from __future__ import annotations

import logging
import sys

from tqdm import tqdm

log = logging.getLogger("sneakergan.train")

_SHOWN = (("d_loss", "d_loss", ".4f"), ("g_loss", "g_loss", ".4f"), ("pixel_loss", "pixel", ".4f"),
          ("d_real", "D(x)", ".3f"), ("d_fake", "D(G(z))", ".3f"))


class Progress:
    def __init__(self, total_steps: int, start_step: int, enabled: bool = True):
        self.total = total_steps
        self.bar = None
        if enabled and sys.stderr.isatty():
            self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True)

    def update(self, step: int, record: dict) -> None:
        """Called at each logged step with the averaged metrics record."""
        # Whichever of these the task's step reported (stage 2's pre-training has no D values).
        stats = " ".join(f"{label} {record[key]:{fmt}}" for key, label, fmt in _SHOWN if key in record)
        stats += f" {record['img_per_s']:.{0 if record['img_per_s'] >= 100 else 1}f} img/s"
        if self.bar is not None:
            self.bar.n = step
            self.bar.set_description(f"epoch {record['epoch']}")
            self.bar.set_postfix_str(stats, refresh=True)
        else:
            log.info("epoch %d step %d/%d %s", record["epoch"], step, self.total, stats)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
