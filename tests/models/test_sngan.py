"""The SNGAN family, unconditional and class-conditional (cGAN: G(z, y), projection D(x, y))."""

import pytest
import torch

from sneakergan.models.layers import apply_spectral_norm
from sneakergan.models.sngan import SNGANDiscriminator, SNGANGenerator

UNCONDITIONAL_G = ["project.weight", "project.bias", *[f"net.{i}.{p}" for i, p in (
    (0, "weight"), (0, "bias"), (0, "running_mean"), (0, "running_var"), (0, "num_batches_tracked"),
    (3, "weight"), (3, "bias"),
    (4, "weight"), (4, "bias"), (4, "running_mean"), (4, "running_var"), (4, "num_batches_tracked"),
    (7, "weight"), (7, "bias"),
    (8, "weight"), (8, "bias"), (8, "running_mean"), (8, "running_var"), (8, "num_batches_tracked"),
    (10, "weight"), (10, "bias"))]]
UNCONDITIONAL_D = [*[f"net.{i}.{p}" for i in (0, 2, 4, 6, 8) for p in ("weight", "bias")], "head.weight", "head.bias"]


def test_n_classes_0_builds_the_unconditional_modules_of_before():
    torch.manual_seed(0)
    generator, discriminator = SNGANGenerator(width=8), SNGANDiscriminator(width=8)
    assert list(generator.state_dict()) == UNCONDITIONAL_G  # checkpoints of unconditional runs load
    assert list(discriminator.state_dict()) == UNCONDITIONAL_D
    z = torch.randn(3, 32)
    assert generator(z).shape == (3, 3, 28, 28) and discriminator(generator(z)).shape == (3,)
    with pytest.raises(ValueError, match="labels given to an unconditional model"):
        generator(z, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="labels given to an unconditional model"):
        discriminator(generator(z), torch.zeros(3, dtype=torch.long))


def test_the_label_conditions_the_generator():
    torch.manual_seed(0)
    generator = SNGANGenerator(width=8, n_classes=3).eval()
    assert generator.embed.weight.shape == (3, 32) and generator.project.in_features == 64  # [z, embed(y)]
    z = torch.randn(4, 32)
    images = [generator(z, torch.full((4,), label)) for label in range(3)]
    assert images[0].shape == (4, 3, 28, 28)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert (images[a] - images[b]).abs().amax(dim=(1, 2, 3)).min() > 1e-3  # every z differs by class
    assert torch.equal(generator(z, torch.full((4,), 1)), images[1])  # deterministic in eval mode
    with pytest.raises(ValueError, match="SNGANGenerator is class-conditional: pass the labels"):
        generator(z)


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_the_projection_discriminator_scores_image_and_label_together(spectral_norm):
    torch.manual_seed(0)
    discriminator = SNGANDiscriminator(width=8, n_classes=3)
    if spectral_norm:
        apply_spectral_norm(discriminator)
        assert hasattr(discriminator.embed, "parametrizations")  # the embedding is normalised too (SNEmbedID)
    discriminator.eval()
    x = torch.rand(5, 3, 28, 28) * 2 - 1
    logits = [discriminator(x, torch.full((5,), label)) for label in range(3)]
    assert logits[0].shape == (5,)
    assert not torch.allclose(logits[0], logits[1]) and not torch.allclose(logits[1], logits[2])
    # logit = head(phi(x)) + <embed(y), phi(x)>: the difference between two labels is the projection alone
    features = discriminator.net(x).flatten(1)
    projection = (discriminator.embed.weight[1] - discriminator.embed.weight[0]) @ features.T
    assert torch.allclose(logits[1] - logits[0], projection, atol=1e-5)
    mixed = discriminator(x, torch.tensor([0, 1, 2, 0, 1]))
    assert torch.allclose(mixed, torch.stack([logits[label][i] for i, label in enumerate([0, 1, 2, 0, 1])]))
    with pytest.raises(ValueError, match="SNGANDiscriminator is class-conditional"):
        discriminator(x)


def test_the_112_models_add_two_doublings_to_the_28_plan():
    generator, discriminator = SNGANGenerator(image_size=112, width=4), SNGANDiscriminator(image_size=112, width=4)
    convs = [m for m in generator.net if isinstance(m, torch.nn.Conv2d)]
    assert generator.project.out_features == 64 * 7 * 7  # 7x7 at 16 times the width
    assert [(c.in_channels, c.out_channels) for c in convs] == [(64, 32), (32, 16), (16, 8), (8, 4), (4, 3)]
    z = torch.randn(2, 32)
    images = generator(z)
    assert images.shape == (2, 3, 112, 112)
    assert discriminator(images).shape == (2,) and discriminator.head.in_features == 64 * 7 * 7


@pytest.mark.parametrize("size", [14, 32, 100, 224 + 7])
def test_sizes_off_the_7_times_power_of_two_plan_are_refused(size):
    with pytest.raises(ValueError, match=f"7 \\* 2\\^k pixels from 28 .*got {size}"):
        SNGANGenerator(image_size=size)
    with pytest.raises(ValueError, match=f"got {size}"):
        SNGANDiscriminator(image_size=size)
