import pytest
import torch

from sneakergan.errors import RunDirError
from sneakergan.inference.checkpoint import flatten_state, load_checkpoint, save_checkpoint, unflatten_state


def test_round_trip_of_a_nested_training_state(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    state = {"step": 12, "model": model.state_dict(), "opt": optimizer.state_dict(),
             "rng": torch.get_rng_state(), "note": None, "values": [1.5, "x"]}
    save_checkpoint(tmp_path / "c.safetensors", state)
    loaded = load_checkpoint(tmp_path / "c.safetensors")
    assert loaded["step"] == 12 and loaded["note"] is None and loaded["values"] == [1.5, "x"]
    assert torch.equal(loaded["rng"], state["rng"])
    for key, value in state["model"].items():
        assert torch.equal(loaded["model"][key], value)
    # int-keyed optimizer state survives, and loads back into an optimizer
    restored = torch.optim.Adam(model.parameters())
    restored.load_state_dict(loaded["opt"])
    for index, values in optimizer.state_dict()["state"].items():
        for key, tensor in values.items():
            assert torch.equal(restored.state_dict()["state"][index][key], tensor)
    assert restored.param_groups[0]["betas"][0] == 0.5


def test_truncated_or_foreign_files_give_a_clear_error(tmp_path):
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, {"w": torch.ones(100)})
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(RunDirError, match="truncated or corrupt"):
        load_checkpoint(path)
    with pytest.raises(RunDirError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_no_temporary_files_are_left(tmp_path):
    save_checkpoint(tmp_path / "c.safetensors", {"w": torch.ones(3)})
    save_checkpoint(tmp_path / "c.safetensors", {"w": torch.zeros(3)})
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]
    assert torch.equal(load_checkpoint(tmp_path / "c.safetensors")["w"], torch.zeros(3))


def test_resumed_fused_adam_moments_follow_channels_last_parameters():
    from sneakergan.train.adversarial import match_parameter_layouts

    def one_more_step(reload: bool) -> torch.Tensor:
        param = torch.nn.Parameter(torch.randn(8, 4, 3, 3, generator=torch.Generator().manual_seed(0))
                                   .contiguous(memory_format=torch.channels_last))
        optimizer = torch.optim.Adam([param], lr=0.1, fused=True)
        for seed in (1, 2):
            param.grad = torch.randn(8, 4, 3, 3, generator=torch.Generator().manual_seed(seed)).contiguous(
                memory_format=torch.channels_last)
            optimizer.step()
            if reload and seed == 1:  # through a checkpoint, which stores tensors contiguous
                state = unflatten_state(*flatten_state(optimizer.state_dict()))
                optimizer.load_state_dict(state)
                match_parameter_layouts(optimizer)
                assert optimizer.state[param]["exp_avg"].stride() == param.stride()
        return param.detach()

    assert torch.equal(one_more_step(reload=False), one_more_step(reload=True))


class _CreatesMarker:
    """A pickle payload: unpickling it opens (so creates) the marker file -- any code could run there."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_named_checkpoint_is_refused_and_never_run(tmp_path):
    import pickle

    from sneakergan.inference.run_dir import RunDir
    from sneakergan.train.loop import Trainer
    from tests.train.test_loop import _config, _images

    payload = pickle.dumps({"step": 3, "model": _CreatesMarker(tmp_path / "marker")}, protocol=2)
    pickle.loads(pickle.dumps(_CreatesMarker(tmp_path / "proof"), protocol=2)).close()
    assert (tmp_path / "proof").exists()  # the payload is live: unpickling it does run code

    cfg = _config()
    run = RunDir.create(tmp_path / "run", cfg)
    run.checkpoint.write_bytes(payload)
    with pytest.raises(RunDirError, match="is a pickle .* never unpickles files"):
        load_checkpoint(run.checkpoint)
    with pytest.raises(RunDirError, match="is a pickle"):
        Trainer(cfg, RunDir.open(run.root), _images(), progress=False).resume()
    assert not (tmp_path / "marker").exists()  # nothing was executed


def test_a_write_failing_halfway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    path = tmp_path / "c.safetensors"
    save_checkpoint(path, {"w": torch.ones(1000)})

    def half_then_full_disk(self, data):
        with open(self, "wb") as handle:
            handle.write(data[:len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_full_disk)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, {"w": torch.zeros(1000)})
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]  # the half-written temporary is gone
    assert torch.equal(load_checkpoint(path)["w"], torch.ones(1000))
