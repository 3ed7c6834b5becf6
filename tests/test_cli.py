"""The ``mixqc`` command end to end: exit codes 0/1/2, one-line errors, outputs, the demo."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from signals import noise, sine, write

from qc.cli import main


@pytest.fixture
def clean_mix(tmp_path):
    """A quiet, unclipped stereo signal with plenty of headroom: no error for the premaster profile."""
    x = noise(-26, 6.0, 44100, 2, seed=3) + sine(220, -20, 6.0, 44100, 2)
    return write(tmp_path / "clean.wav", x, 44100, "PCM_24")


@pytest.fixture
def clipped_mix(tmp_path):
    """A sine driven into hard clipping at full scale from 2.0 s to 3.0 s."""
    x = sine(220, -6, 5.0, 44100, 2)
    x[88200:132300] = np.clip(x[88200:132300] * 4.0, -1.0, 1.0)
    return write(tmp_path / "clipped.wav", x, 44100, "FLOAT")


def test_clean_mix_exits_0(clean_mix, capsys):
    assert main(["check", str(clean_mix), "--no-color"]) == 0
    assert "clean.wav" in capsys.readouterr().out


def test_clipped_mix_exits_1_and_reports_clipping_with_times(clipped_mix, capsys):
    assert main(["check", str(clipped_mix), "--json", "-"]) == 1
    report = json.loads(capsys.readouterr().out)
    clipping = next(f for f in report["findings"] if f["rule_id"] == "clipping")
    assert clipping["severity"] == "error"
    starts = [e["start_s"] for e in clipping["events"]]
    assert min(starts) >= 2.0 - 0.01 and max(e["end_s"] for e in clipping["events"]) <= 3.0 + 0.01
    assert report["verdict"] == "fail"


def test_fail_on_warning_turns_a_warning_into_exit_1(tmp_path):
    # premaster: peaks at -1 dBTP leave too little headroom for mastering (a warning, not an error)
    path = write(tmp_path / "hot.wav", sine(100, -1.5, 4.0, 44100, 2), 44100)
    assert main(["check", str(path)]) == 0
    assert main(["check", str(path), "--fail-on", "warning"]) == 1


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.write_bytes(b""), p)[1], "empty"),
        (lambda p: (p.write_text("not audio " * 50), p)[1], "not a readable audio file"),
        (lambda p: write(p, np.zeros((4800, 6)), 48000, "PCM_16"), "6 channels"),
    ],
    ids=["missing", "empty", "garbage", "six-channels"],
)
def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, make, fragment):
    path = make(tmp_path / "bad.wav")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_bad_input_through_the_real_process_has_no_traceback(tmp_path):
    path = tmp_path / "x.wav"
    path.write_text("garbage")
    done = subprocess.run([sys.executable, "-m", "qc", "check", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_malformed_rule_pack_gives_file_line_and_exit_2(tmp_path, clean_mix, capsys):
    pack = tmp_path / "studio.yaml"
    pack.write_text("pack: studio\nextends: default\nrules:\n  - id: true-peak\n    severity: loud\n")
    assert main(["check", str(clean_mix), "--rules", str(pack)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{pack}:5" in err and "severity" in err and len(err.splitlines()) == 1


def test_unknown_profile_exits_2(clean_mix, capsys):
    assert main(["check", str(clean_mix), "--profile", "vinyl-of-the-gods"]) == 2
    assert "streaming" in capsys.readouterr().err  # the message lists the known profiles


def test_report_never_overwrites_the_input(clean_mix, capsys):
    before = clean_mix.read_bytes()
    assert main(["check", str(clean_mix), "--json", str(clean_mix)]) == 2
    assert clean_mix.read_bytes() == before


def test_json_and_html_files_are_written(clean_mix, tmp_path):
    json_path, html_path = tmp_path / "r.json", tmp_path / "r.html"
    assert main(["check", str(clean_mix), "--json", str(json_path), "--html", str(html_path), "-q"]) == 0
    report = json.loads(json_path.read_text())
    assert report["schema_version"] == "1" and report["file"]["sample_rate"] == 44100
    assert report["features"]["integrated_lufs"] < -15
    assert "<html" in html_path.read_text().lower()
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_batch_with_out_dir_writes_one_report_per_track_and_survives_a_bad_input(
    clean_mix, clipped_mix, tmp_path, capsys
):
    bad = tmp_path / "broken.wav"
    bad.write_text("nope")
    out = tmp_path / "reports"
    status = main(["check", str(clean_mix), str(clipped_mix), str(bad), "--out", str(out)])
    assert status == 2  # one input could not be checked
    assert sorted(p.name for p in out.iterdir()) == [
        "clean.html",
        "clean.json",
        "clipped.html",
        "clipped.json",
        "index.html",
        "summary.json",
    ]
    assert "broken.wav" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert [t["report"] for t in summary["tracks"]] == ["clean.html", "clipped.html"]
    assert summary["failed"][0]["path"].endswith("broken.wav") and summary["verdict"] == "fail"
    assert 'href="clipped.html"' in (out / "index.html").read_text()


def test_folder_input_is_expanded(clean_mix, clipped_mix, capsys):
    assert main(["check", str(clean_mix.parent), "--json", "-"]) == 1
    reports = json.loads(capsys.readouterr().out)
    assert sorted(r["file"]["path"].rsplit("/", 1)[-1] for r in reports) == ["clean.wav", "clipped.wav"]


def test_demo_writes_reports_and_finds_the_planted_problems(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "demo-mix.html" in out
    report = json.loads((tmp_path / "demo" / "demo-mix.json").read_text())
    ids = {f["rule_id"] for f in report["findings"] if f["severity"] != "info"}
    assert {"clipping", "true-peak", "loudness-target"} <= ids
    clipping = next(f for f in report["findings"] if f["rule_id"] == "clipping")
    assert all(7.9 <= e["start_s"] <= 12.1 for e in clipping["events"])  # bars 5-6 only
    assert report["features"]["true_peak_dbtp"] > 0.0
    assert report["features"]["integrated_lufs"] > -10.0


def test_python_api_returns_the_json_report(clipped_mix):
    from qc import analyze

    report = analyze(clipped_mix, profile="streaming")
    data = json.loads(report.model_dump_json())
    assert set(data) >= {"schema_version", "tool", "file", "profile", "features", "findings", "verdict"}
    assert data["profile"] == "streaming" and data["verdict"] == "fail"


def test_rules_commands(tmp_path, capsys):
    assert main(["rules", "list"]) == 0
    assert "true-peak" in capsys.readouterr().out
    assert main(["rules", "show", "true-peak"]) == 0
    shown = capsys.readouterr().out
    assert "Why" in shown and "BS.1770" in shown
    pack = tmp_path / "ok.yaml"
    pack.write_text("pack: ok\nextends: default\nrules:\n  - id: true-peak\n    severity: warning\n")
    assert main(["rules", "validate", str(pack)]) == 0
    assert main(["rules", "show", "no-such-rule"]) == 2


def test_schema_command_prints_a_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "findings" in schema["properties"]


def test_pdf_and_markdown_reports_are_written(clipped_mix, tmp_path):
    pytest.importorskip("weasyprint")
    pdf, md = tmp_path / "r.pdf", tmp_path / "r.md"
    status = main(
        ["check", str(clipped_mix), "--pdf", str(pdf), "--md", str(md), "-q", "--studio", "Blue Room"]
    )
    assert status == 1
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = md.read_text()
    assert text.startswith("# `clipped.wav`: Needs a revision") and "**Blue Room**" in text


def test_markdown_on_stdout_keeps_the_summary_off_it(clean_mix, capsys):
    assert main(["check", str(clean_mix), "--md", "-", "--note", "Hello"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("# `clean.wav`: ") and "> Hello" in out
    assert "clean.wav" in err  # the terminal summary went to stderr


def test_out_dir_writes_every_format_and_a_summary_without_overwriting_it(clean_mix, tmp_path):
    pytest.importorskip("weasyprint")
    index_track = write(tmp_path / "index.wav", noise(-30, 4.0, 44100, 2, seed=5), 44100, "PCM_24")
    out = tmp_path / "reports"
    args = [
        "check",
        str(clean_mix),
        str(index_track),
        "--out",
        str(out),
        "--format",
        "html,pdf,json,md",
        "-q",
    ]
    assert main(args) in (0, 1)  # the verdicts are not the point here
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [f"{stem}.{ext}" for stem in ("clean", "index-2") for ext in ("html", "pdf", "json", "md")]
        + ["index.html", "summary.pdf", "summary.json", "summary.md"]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert [t["name"] for t in summary["tracks"]] == ["clean.wav", "index.wav"]
    assert [t["report"] for t in summary["tracks"]] == ["clean.html", "index-2.html"]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--out", "o", "--format", "html,docx"], "--format 'html,docx'"),
        (["--format", "pdf"], "--format chooses the reports written with --out DIR"),
        (["--brand", "missing-brand.yaml"], "missing-brand.yaml: cannot read the branding file"),
        (["--logo", "missing-logo.png"], "missing-logo.png: cannot read the logo"),
        (["--json", "-", "--md", "-"], "cannot both write to stdout"),
    ],
    ids=["bad-format", "format-without-out", "missing-brand", "missing-logo", "two-stdouts"],
)
def test_bad_report_options_give_one_line_and_exit_2(clean_mix, capsys, extra, fragment):
    assert main(["check", str(clean_mix), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("option", ["--pdf", "--md", "--html"])
def test_single_file_outputs_refuse_several_inputs(clean_mix, clipped_mix, tmp_path, capsys, option):
    assert main(["check", str(clean_mix), str(clipped_mix), option, str(tmp_path / "x")]) == 2
    assert "use --out DIR" in capsys.readouterr().err


def test_writing_to_a_device_writes_through_it_and_keeps_it_a_device(clean_mix, tmp_path):
    import os
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert main(["check", str(clean_mix), "--json", str(fifo), "-q"]) == 0
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["schema_version"] == "1"


def test_curve_option_changes_the_tonal_thresholds(tmp_path, capsys):
    from music import music

    x, sample_rate = music(12.0, seed=2)
    path = write(tmp_path / "mix.wav", x, sample_rate, "PCM_24")
    assert main(["check", str(path), "--json", "-"]) in (0, 1)
    default = json.loads(capsys.readouterr().out)["features"]
    assert main(["check", str(path), "--json", "-", "--curve", "bright"]) in (0, 1)
    bright = json.loads(capsys.readouterr().out)["features"]
    assert default["tonal_balance"]["curve"] == "default" and bright["tonal_balance"]["curve"] == "bright"
    assert default["tonal_high_mid_db"] != bright["tonal_high_mid_db"]


def test_unknown_curve_exits_2(clean_mix, capsys):
    assert main(["check", str(clean_mix), "--curve", "no-such-curve"]) == 2
    err = capsys.readouterr().err
    assert "no-such-curve" in err and len(err.strip().splitlines()) == 1
