import json

import pytest

from sneakergan.config import TrainConfig, load_config_json, load_preset, preset_names
from sneakergan.errors import ConfigError


def test_presets_load_with_the_design_values():
    assert {"seed-mlp", "seed-dcgan"} <= set(preset_names())
    mlp = load_preset("seed-mlp")
    assert (mlp.architecture, mlp.loss, mlp.z_dim, mlp.batch_size, mlp.lr_g, mlp.lr_d, mlp.beta1, mlp.beta2) == \
        ("mlp", "bce", 32, 128, 1e-3, 1e-3, 0.5, 0.999)
    dcgan = load_preset("seed-dcgan")
    assert (dcgan.architecture, dcgan.loss) == ("dcgan", "lsgan")


def test_overrides_build_a_new_config():
    base = load_preset("seed-mlp")
    changed = base.with_overrides(["g_width=512", "lr_d=0.0002", "device=cpu"])
    assert (changed.g_width, changed.lr_d, changed.device) == (512, 2e-4, "cpu")
    assert base.g_width == 1024  # the original is untouched


@pytest.mark.parametrize("assignment, message", [
    ("nonsense=1", "unknown config field 'nonsense'"),
    ("batch_size=big", "batch_size must be int"),
    ("batch_size=0", "batch_size must be >= 1"),
    ("loss=nope", "unknown loss"),
    ("g_width", "must be key=value"),
])
def test_bad_overrides_name_the_problem(assignment, message):
    with pytest.raises(ConfigError, match=message):
        load_preset("seed-mlp").with_overrides([assignment])


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset 'seed-xyz'; known: .*seed-mlp"):
        load_preset("seed-xyz")


def test_json_round_trip():
    cfg = load_preset("seed-dcgan").replace(seed=7)
    assert load_config_json(cfg.to_json(), "x") == cfg
    with pytest.raises(ConfigError, match="unknown field"):
        load_config_json(json.dumps({"bogus": 1}), "x")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config_json("{", "x")
    assert TrainConfig().validated() == TrainConfig()


def test_the_sr_preset_and_its_fields():
    cfg = load_preset("seed-srgan")
    assert (cfg.task, cfg.loss, cfg.image_size, cfg.batch_size, cfg.lr_g, cfg.lr_d, cfg.beta1, cfg.beta2) == \
        ("sr", "bce", 112, 16, 1e-4, 1e-4, 0.9, 0.999)
    assert (cfg.adv_weight, cfg.pixel_loss, cfg.degrade) == (1e-3, "l1", True)
    assert 0 < cfg.pretrain_epochs < cfg.epochs
    assert cfg.with_overrides(["degrade=false"]).degrade is False
    assert load_config_json(cfg.to_json(), "x") == cfg
    for assignment, message in (("adv_weight=-1", "adv_weight must be >= 0"), ("sr_blocks=0", "sr_blocks must be >= 1"),
                                ("image_size=30", "not a multiple of 4"), ("degrade=maybe", "degrade must be bool")):
        with pytest.raises(ConfigError, match=message):
            cfg.with_overrides([assignment])
    assert load_preset("seed-mlp").task == "gan"  # stage-1 presets and old config.json files: task gan


def test_condition_and_class_names():
    from sneakergan.data.colour import COLOUR_NAMES

    cfg = load_preset("sngan-cgan-colour")
    assert (cfg.condition, cfg.class_names, cfg.n_classes) == ("colour", (), 0)  # classes come with the data
    base = load_preset("sngan-diffaug")  # the preset is sngan-diffaug plus the condition,
    assert base.replace(condition="colour", augment="translation,cutout", preset=cfg.preset,
                        description=cfg.description) == cfg  # without the colour jitter
    filled = cfg.replace(class_names=COLOUR_NAMES)
    assert filled.n_classes == 10 and load_config_json(filled.to_json(), "x") == filled  # a list in JSON, a tuple back
    price = load_preset("sngan-diffaug").with_overrides(["condition=price"]).replace(class_names=("cheap", "expensive"))
    assert price.n_classes == 2 and json.loads(price.to_json())["class_names"] == ["cheap", "expensive"]
    with pytest.raises(ConfigError, match="needs class_names, which `sneakergan train` fills from the data"):
        cfg.require_classes()


@pytest.mark.parametrize("preset, changes, message", [
    ("sngan-diffaug", {"condition": "size"}, "condition must be '', 'price', 'colour', got 'size'"),
    ("seed-dcgan", {"condition": "price"}, "architecture 'dcgan' has no class-conditional version .*sngan"),
    ("seed-srgan", {"condition": "price"}, "stage 1"),
    ("sngan-diffaug", {"class_names": ("cheap", "expensive")}, "class_names belong to a class-conditional run"),
    ("sngan-diffaug", {"condition": "price", "class_names": ("cheap",)}, "two or more distinct non-empty names"),
    ("sngan-diffaug", {"condition": "price", "class_names": ("a", "a")}, "two or more distinct"),
    ("sngan-diffaug", {"condition": "price", "class_names": ("a", "")}, "two or more distinct non-empty"),
    ("sngan-diffaug", {"condition": "colour", "class_names": ("red", "blue")}, "class_names of condition colour must"),
])
def test_bad_conditions_name_the_problem(preset, changes, message):
    with pytest.raises(ConfigError, match=message):
        load_preset(preset).replace(**changes)


def test_class_names_come_from_the_data_not_from_set():
    with pytest.raises(ConfigError, match="class_names cannot be set: `sneakergan train` fills it from the data"):
        load_preset("sngan-cgan-colour").with_overrides(["class_names=red"])
    with pytest.raises(ConfigError, match="class_names must be a list of strings"):
        load_config_json(json.dumps({"condition": "price", "architecture": "sngan", "class_names": "ab"}), "x")


def test_configs_from_before_conditioning_still_load():
    values = json.loads(load_preset("sngan-diffaug").to_json())
    del values["condition"], values["class_names"]
    old = load_config_json(json.dumps(values), "old config.json")
    assert (old.condition, old.class_names, old.n_classes) == ("", (), 0)
    from sneakergan.inference.bundle import load_bundled

    assert load_bundled("stage1")[1].n_classes == 0  # the bundled model's config has neither field
