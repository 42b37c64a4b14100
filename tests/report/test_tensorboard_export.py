"""`sneakergan report RUN --tensorboard LOGDIR`: the run's logs as TensorBoard events, read back with
TensorBoard's own reader. Skipped without the optional package (pip install 'sneakergan[tensorboard]')."""

import pytest

from sneakergan.cli import main
from tests.report.conftest import GAN_EPOCHS

pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install 'sneakergan[tensorboard]')")


def _read(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(logdir), size_guidance={"images": 0, "scalars": 0, "histograms": 0})
    events.Reload()
    return events


def test_the_export_holds_scalars_samples_and_histograms_and_is_replaced_only_on_request(gan_run, tmp_path, capsys):
    logdir = tmp_path / "tb"
    assert main(["report", str(gan_run), "--tensorboard", str(logdir)]) == 0
    assert capsys.readouterr().out.strip() == str(logdir)
    events = _read(logdir)
    tags = events.Tags()
    assert {"train/d_loss", "train/g_loss", "train/d_real", "train/d_fake", "eval/fid2000"} <= set(tags["scalars"])
    assert [(s.step, s.value) for s in events.Scalars("eval/fid2000")] == [(5, 30.0), (10, 20.0), (15, 25.0)]
    assert [image.step for image in events.Images("samples")] == [5, 10, 15]  # each epoch's last step
    assert len(events.Histograms("d_outputs/real")) == len(events.Histograms("d_outputs/generated")) == GAN_EPOCHS
    assert not (gan_run / "report.html").exists()  # the export replaces the HTML, it does not add to it

    assert main(["report", str(gan_run), "--tensorboard", str(logdir)]) == 2
    assert "already holds TensorBoard event files; pass --replace" in capsys.readouterr().err
    assert main(["report", str(gan_run), "--tensorboard", str(logdir), "--replace"]) == 0
    assert len(list(logdir.glob("events.out.tfevents.*"))) == 1 and [p.name for p in logdir.iterdir()] == [
        next(logdir.glob("events.out.tfevents.*")).name]  # the old file replaced, no staging folder left
