"""Hostile input files: alias bombs, endless or oversized files, devices. One line, exit 2, fast."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from qc import safeyaml
from qc.cli import main
from qc.errors import QCError
from qc.rules.loader import read_yaml


def billion_laughs(levels: int = 9) -> str:
    """1 KB of YAML whose aliases expand to 10**levels nodes."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        aliases = ",".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    return "\n".join(["pack: bomb", "extends: default", *lines, f"rules: *a{levels - 1}"]) + "\n"


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_an_alias_bomb_is_refused_before_anything_walks_it(tmp_path: Path) -> None:
    text = billion_laughs()
    assert len(text) < 1200
    with pytest.raises(yaml.YAMLError, match="expands to more than"):
        safeyaml.safe_load(text)
    pack = tmp_path / "bomb.yaml"
    pack.write_text(text)
    with pytest.raises(QCError, match=r"bomb.yaml:7:\d+: .*expands to more than 50,000 nodes"):
        read_yaml(pack)


def test_many_small_aliases_are_refused_too() -> None:
    text = "a: &a x\nb: [" + ",".join(["*a"] * 2000) + "]\n"
    with pytest.raises(yaml.YAMLError, match="more than 1,000 aliases"):
        safeyaml.safe_load(text)


def test_ordinary_anchors_still_work() -> None:
    data = safeyaml.safe_load("base: &b {severity: warning}\nrule: *b\nmerged: {<<: *b, id: x}\n")
    assert data["rule"] == {"severity": "warning"}
    assert data["merged"] == {"severity": "warning", "id": "x"}


def test_a_recursive_alias_does_not_loop() -> None:
    data = safeyaml.safe_load("a: &a [1, *a]\n")
    assert data["a"][1] is data["a"]


@pytest.mark.parametrize("command", ["validate", "check-rules", "brand", "curve"])
def test_the_cli_refuses_an_alias_bomb_in_any_yaml_it_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs())
    audio = tmp_path / "mix.wav"
    _write_tone(audio)
    args = {
        "validate": ["rules", "validate", str(bomb)],
        "check-rules": ["check", str(audio), "--rules", str(bomb)],
        "brand": ["check", str(audio), "--brand", str(bomb), "--html", str(tmp_path / "r.html")],
        "curve": ["check", str(audio), "--curve", str(bomb)],
    }[command]
    assert main(args) == 2
    line = one_error_line(capsys)
    assert "bomb.yaml" in line and ("aliases" in line or "YAML" in line)


@pytest.mark.parametrize("option", ["--rules", "--brand", "--logo", "--curve"])
def test_a_device_or_an_endless_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    audio = tmp_path / "mix.wav"
    _write_tone(audio)
    extra = ["--html", str(tmp_path / "r.html")] if option in ("--brand", "--logo") else []
    assert main(["check", str(audio), option, "/dev/zero", *extra]) == 2
    assert "/dev/zero" in one_error_line(capsys)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pack.yaml"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        safeyaml.read_text(fifo)
    with pytest.raises(QCError, match="not a regular file"):
        read_yaml(fifo)


def test_an_oversized_rule_pack_is_refused(tmp_path: Path) -> None:
    pack = tmp_path / "huge.yaml"
    pack.write_text("pack: huge\n" + "# padding\n" * 200_000)
    with pytest.raises(QCError, match="larger than 1 MiB"):
        read_yaml(pack)


def test_a_bounded_read_returns_the_whole_of_a_file_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 1000)
    assert safeyaml.read_bounded(path, 1000) == b"x" * 1000
    with pytest.raises(OSError, match="larger than"):
        safeyaml.read_bounded(path, 999)


def _write_tone(path: Path) -> None:
    import numpy as np
    import soundfile

    t = np.arange(44100) / 44100
    soundfile.write(path, 0.25 * np.sin(2 * np.pi * 440 * t), 44100, subtype="PCM_24")
