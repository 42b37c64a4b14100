"""What every adversarial training model shares: G, D, their Adam optimisers, D's update, state.

The task-specific models (gan_model.UnconditionalGAN, sr_model.SuperResolutionGAN) add their
generator update and `train_step(batch, noise, epoch)`; the trainer only ever calls those.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch

from sneakergan.config import TrainConfig
from sneakergan.losses import get_loss


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Eval mode (BN running statistics) for a moment, then the previous mode again."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


class AdversarialModel:
    def __init__(self, cfg: TrainConfig, device: torch.device, generator: torch.nn.Module,
                 discriminator: torch.nn.Module):
        self.cfg = cfg
        self.device = device
        self.loss = get_loss(cfg.loss)
        self.generator = generator.to(device)
        self.discriminator = discriminator.to(device)
        betas = (cfg.beta1, cfg.beta2)
        # fused: one kernel per step instead of ~10 elementwise passes per tensor; the profile of
        # the MLP preset spent about a third of its step in the unfused update.
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr_g, betas=betas, fused=True)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr_d, betas=betas, fused=True)

    def d_step(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """One discriminator update on a real batch and a (detached) generated batch."""
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake.detach())
        d_loss = self.loss.d_loss(real_logits, fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        return {
            "d_loss": d_loss.detach(),
            "d_real": self.loss.d_output(real_logits.detach()).mean(),
            "d_fake": self.loss.d_output(fake_logits.detach()).mean(),
        }

    @torch.no_grad()
    def d_outputs(self, images: torch.Tensor) -> torch.Tensor:
        """D's human-readable outputs (probabilities for BCE) on a batch, in eval mode."""
        with eval_mode(self.discriminator):
            return self.loss.d_output(self.discriminator(images)).float()

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        for optimizer, key in ((self.opt_g, "opt_g"), (self.opt_d, "opt_d")):
            optimizer.load_state_dict(state[key])
            match_parameter_layouts(optimizer)


def match_parameter_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor its parameter's memory layout.

    Checkpoints store tensors contiguous; a channels_last parameter's moments come back NCHW, and
    the fused Adam kernel walks parameter, gradient and moments as if their memory were laid out
    alike (measured: a max error of 5.5 after one step), so the layouts must match again.
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            state = optimizer.state.get(param, {})
            for name, value in state.items():
                if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                    state[name] = torch.empty_like(param, dtype=value.dtype).copy_(value)
