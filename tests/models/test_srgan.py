import pytest
import torch

from sneakergan.config import TrainConfig, load_preset
from sneakergan.errors import ConfigError
from sneakergan.models import get_architecture
from sneakergan.models.build import build_sr_discriminator, build_sr_generator
from sneakergan.models.srgan import SRGANDiscriminator, SRResNetGenerator


def test_generator_maps_28_to_112_in_the_image_range():
    torch.manual_seed(0)
    generator = SRResNetGenerator(blocks=1, width=8)
    out = generator(torch.rand(3, 3, 28, 28) * 20 - 10)  # extreme inputs drive tanh to its limits
    assert out.shape == (3, 3, 112, 112)
    assert out.min() >= -1 and out.max() <= 1


def test_discriminator_gives_one_logit_per_image_and_its_features():
    discriminator = SRGANDiscriminator(width=8)
    images = torch.rand(4, 3, 112, 112) * 2 - 1
    assert discriminator(images).shape == (4,)
    logits, taps = discriminator(images, features=True)
    assert logits.shape == (4,) and len(taps) == 8
    assert [t.shape[1] for t in taps] == [8, 8, 16, 16, 32, 32, 64, 64]
    assert taps[-1].shape[2:] == (7, 7)  # four stride-2 convolutions: 112 -> 7
    first = discriminator.convs[0]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in first)  # no BN after the first conv
    assert all(any(isinstance(m, torch.nn.BatchNorm2d) for m in block) for block in discriminator.convs[1:])


def test_preset_sizes_match_the_docstring():
    cfg = load_preset("seed-srgan")
    generator, discriminator = build_sr_generator(cfg), build_sr_discriminator(cfg)
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    # head 11,760 + 8 blocks x 41,712 + trunk 20,832 + upsamplers 2 x 83,184 + output 11,667
    assert count(generator) == 544_323
    assert count(discriminator) == 1_305_281
    assert (cfg.task, cfg.architecture, cfg.sr_blocks, cfg.g_width, cfg.d_width) == ("sr", "srgan", 8, 48, 32)


def test_the_sr_family_belongs_to_the_sr_task():
    assert get_architecture("srgan").task == "sr"
    with pytest.raises(ConfigError, match="architecture 'srgan' is for task 'sr'"):
        TrainConfig(architecture="srgan").validated()
    with pytest.raises(ConfigError, match="architecture 'mlp' is for task 'gan'"):
        TrainConfig(task="sr", image_size=112).validated()
    with pytest.raises(ConfigError, match="unknown task 'video'"):
        TrainConfig(task="video").validated()
