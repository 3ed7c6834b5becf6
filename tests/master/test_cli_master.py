"""``mixqc master`` on the command line: exit codes, one-line errors, reports, the input left alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qc.cli import main
from tests.music import music
from tests.signals import write


@pytest.fixture(scope="module")
def mix(tmp_path_factory):
    x, rate = music(6.0, seed=2)
    x = 0.1 * np.tanh(2.0 * x / np.max(np.abs(x)))  # PLR about 10 dB: gain alone reaches -14 LUFS
    return write(tmp_path_factory.mktemp("mix") / "mix.wav", x, rate, "PCM_24")


def test_master_writes_output_and_before_after_reports(mix, tmp_path, capsys):
    out = tmp_path / "master.wav"
    status = main(["master", str(mix), "--out", str(out), "--report", str(tmp_path / "r"), "--no-color"])
    printed = capsys.readouterr().out
    assert status == 0
    assert out.exists()
    assert "master written to" in printed
    data = json.loads((tmp_path / "r" / "master-report.json").read_text())
    assert data["settings"]["target_lufs"] == -14.0
    assert abs(data["after"]["features"]["integrated_lufs"] - -14.0) <= 0.1
    assert data["before"]["features"]["integrated_lufs"] < -20.0
    assert (tmp_path / "r" / "master-report.html").read_text().count("<html") == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "{mix}"], "refusing to overwrite the input"),
        (["--out", "{tmp}/x.mp3"], "WAV, FLAC or AIFF"),
        (["--out", "{tmp}/x.wav", "--isrc", "12345"], "ISRC"),
        (["--out", "{tmp}/x.wav", "--skip", "reverb"], "unknown stage"),
        (["--out", "{tmp}/x.wav", "--ceiling-dbtp", "0.5"], "above 0 dBTP"),
        (["--out", "{tmp}/x.wav", "--profile", "nope"], "nope"),
    ],
)
def test_bad_requests_get_one_line_and_exit_2(mix, tmp_path, capsys, extra, message):
    args = [part.format(mix=mix, tmp=tmp_path) for part in extra]
    before = mix.read_bytes()
    status = main(["master", str(mix), *args])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1 and message in err
    assert "Traceback" not in err
    assert mix.read_bytes() == before
    assert not (tmp_path / "x.wav").exists()


def test_missing_input_exits_2(tmp_path, capsys):
    assert main(["master", str(tmp_path / "none.wav"), "--out", str(tmp_path / "o.wav")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_output_keeps_a_16_bit_input_at_16_bits(tmp_path, capsys):
    import soundfile

    x, rate = music(4.0, seed=4)
    source = write(tmp_path / "cd.wav", 0.1 * np.tanh(2.0 * x / np.max(np.abs(x))), rate, "PCM_16")
    out = tmp_path / "m.wav"
    assert main(["master", str(source), "--out", str(out), "-q"]) == 0
    assert soundfile.info(str(out)).subtype == "PCM_16"
    assert capsys.readouterr().out == ""


def test_a_silent_input_is_refused_without_writing(tmp_path, capsys):
    source = write(tmp_path / "silent.wav", np.zeros((44100, 2)), 44100, "PCM_24")
    assert main(["master", str(source), "--out", str(tmp_path / "s.wav")]) == 2
    assert "silent.wav: the audio is silent" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["silent.wav"]
