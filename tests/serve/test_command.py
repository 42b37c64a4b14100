"""`sneakergan serve`: option mistakes are one-line errors; the command serves and stops on Ctrl-C."""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from sneakergan.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("args, message", [
    (["--port", "0"], "--port must be between 1 and 65535, got 0"),
    (["--port", "70000"], "--port must be between 1 and 65535, got 70000"),
    (["--timeout", "0"], "--timeout must be between 0.1 and 3600 seconds, got 0"),
    (["--timeout", "nan"], "--timeout must be between 0.1 and 3600 seconds, got nan"),
    (["--device", "gpu"], "--device must be auto, cpu, cuda or cuda:N, got 'gpu'"),
    (["--lr-run", "no/such/run"], "--run no/such/run does not exist"),  # --lr-run: the earlier spelling
    (["--sr-run", "no/such/run"], "--sr-run no/such/run does not exist"),
    (["--host", "192.0.2.1"], "cannot listen on 192.0.2.1:8000: "),  # TEST-NET-1: no address of this machine
])
def test_bad_options_are_one_line_errors(args, message, capsys):
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_a_taken_port_is_a_one_line_error(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in err and "Traceback" not in err


def test_a_folder_that_is_not_a_run_is_a_one_line_error_and_frees_the_port(tmp_path, capsys):
    port = _free_port()
    assert main(["serve", "--port", str(port), "--lr-run", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} is not a sneakergan run folder" in err and "Traceback" not in err
    with socket.socket() as again:  # the listening socket was closed
        again.bind(("127.0.0.1", port))


def test_serve_answers_on_loopback_and_stops_cleanly_on_ctrl_c():
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "sneakergan", "serve", "--port", str(port), "--device", "cpu"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, health = time.monotonic() + 120, None
        while health is None:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the studio did not answer within 120 s"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as response:
                    health = json.load(response)
            except OSError:
                time.sleep(0.2)
        assert health["stage1"] == health["stage2"] == "bundled" and health["device"] == "cpu"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert b'data-testid="grid"' in response.read()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert f"sneaker studio: http://127.0.0.1:{port}/" in err and "sneaker studio stopped" in err
    assert "Traceback" not in err
