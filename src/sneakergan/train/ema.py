"""An exponential moving average of the generator's weights, used for samples and evaluation.

Averaging G over the last ~1/(1 - decay) updates removes much of the step-to-step oscillation of
adversarial training (Karras et al. 2018; Yazici et al. 2019). Early on the decay ramps up as
min(decay, (1 + n) / (10 + n)) after n updates, so the average does not remember the random init.
Buffers (BN running statistics) are copied, not averaged.
"""

from __future__ import annotations

import copy
from typing import Any

import torch


class EMA:
    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for average, current in zip(self.model.parameters(), model.parameters()):
            average.lerp_(current.detach(), 1 - decay)
        for average, current in zip(self.model.buffers(), model.buffers()):
            average.copy_(current)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {"weights": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["weights"])
        self.updates = int(state["updates"])
