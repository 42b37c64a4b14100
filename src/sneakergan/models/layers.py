"""Layer-level options shared by architecture families."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of every convolution and linear layer, in place:
    each weight is divided by its largest singular value (one power iteration per forward pass),
    which bounds D's Lipschitz constant. PyTorch's own parametrization; its u, v vectors are buffers
    and so part of every checkpoint. A projection discriminator's class embedding is normalised too
    (as Miyato & Koyama's SNEmbedID): its rows are linear maps of D's features."""
    for name, child in list(module.named_children()):
        if isinstance(child, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            setattr(module, name, spectral_norm(child))
        else:
            apply_spectral_norm(child)
    return module
