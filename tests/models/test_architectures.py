import pytest
import torch

from sneakergan.config import load_preset
from sneakergan.errors import ConfigError
from sneakergan.models import architecture_names, get_architecture
from sneakergan.models.build import build_discriminator, build_generator
from sneakergan.models.dcgan import DCGANDiscriminator, DCGANGenerator
from sneakergan.models.mlp import MLPDiscriminator, MLPGenerator


@pytest.mark.parametrize("preset", ["seed-mlp", "seed-dcgan"])
def test_shapes_and_ranges(preset):
    torch.manual_seed(0)
    cfg = load_preset(preset)
    generator, discriminator = build_generator(cfg), build_discriminator(cfg)
    z = torch.randn(5, 32) * 10  # large z drives tanh to its limits
    images = generator(z)
    assert images.shape == (5, 3, 28, 28)
    assert images.min() >= -1 and images.max() <= 1
    assert discriminator(images).shape == (5,)


def test_mlp_matches_the_design():
    generator = MLPGenerator()
    linear = [m for m in generator.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(32, 1024), (1024, 1024), (1024, 2352)]
    discriminator = MLPDiscriminator()
    linear = [m for m in discriminator.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(2352, 256), (256, 256), (256, 1)]
    slopes = {m.negative_slope for m in discriminator.net if isinstance(m, torch.nn.LeakyReLU)}
    assert slopes == {0.01}


def test_dcgan_follows_the_dcgan_rules():
    generator, discriminator = DCGANGenerator(), DCGANDiscriminator()
    for model in (generator, discriminator):
        kinds = {type(m) for m in model.modules()}
        assert torch.nn.Linear not in kinds  # no fully connected hidden layers
        assert not kinds & {torch.nn.MaxPool2d, torch.nn.AvgPool2d}  # strided convolutions instead
    g_layers = list(generator.net)
    # the output layer is a transposed convolution straight into tanh: no batch norm there
    assert isinstance(g_layers[-1], torch.nn.Tanh) and isinstance(g_layers[-2], torch.nn.ConvTranspose2d)
    d_layers = list(discriminator.net)
    assert isinstance(d_layers[0], torch.nn.Conv2d) and isinstance(d_layers[1], torch.nn.LeakyReLU)  # no BN on input
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in d_layers)
    assert any(isinstance(m, torch.nn.ReLU) for m in g_layers)


def test_registry():
    assert {"mlp", "dcgan"} <= set(architecture_names())
    with pytest.raises(ConfigError, match="unknown architecture 'nope'"):
        get_architecture("nope")
