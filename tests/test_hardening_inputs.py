"""Hostile input, by class: YAML alias bombs, huge template widths, endless or oversized files, control
characters. Each is refused (or shown escaped) with one stderr line and exit status 2, never a hang,
a traceback or a 100 MB report. Speed is not asserted here (see bench/); a generous alarm only turns a
hang into a failure.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import numpy as np
import pytest
import soundfile
from pydantic import ValidationError

from qc import safeyaml
from qc.analysis import FeatureSet
from qc.cli import main
from qc.errors import QCError, RulePackError
from qc.features.registry import params_key
from qc.report.batch import AlbumRule
from qc.rules import evaluate, validate_pack
from qc.rules.model import Profile, Rule
from qc.text import MAX_FORMAT_WIDTH, MAX_RENDERED_CHARS, bounded_format, format_spec_problem, visible

RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # all but \t and \n


@pytest.fixture(autouse=True)
def _hang_fails_the_test() -> Iterator[None]:
    def hung(signum: int, frame: FrameType | None) -> None:
        pytest.fail("mixqc hung instead of refusing the input")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def tone(tmp_path: Path) -> Path:
    return _write_tone(tmp_path / "mix.wav")


def _write_tone(path: Path) -> Path:
    t = np.arange(44100) / 44100
    soundfile.write(path, 0.25 * np.sin(2 * np.pi * 440 * t), 44100, subtype="PCM_24")
    return path


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0] and not RAW_CONTROLS.search(lines[0])
    return lines[0]


# --- 1. YAML that expands exponentially --------------------------------------------------------------


def billion_laughs(levels: int = 9, top: str = "rules") -> str:
    """Under 1 KB of YAML whose aliases expand to 10**levels nodes; the bomb goes off at line 7."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 10) + "]")
    return "\n".join(["pack: bomb", "extends: default", *lines, f"{top}: *a{levels - 1}"]) + "\n"


@pytest.fixture
def bomb(tmp_path: Path) -> Path:
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs())
    assert path.stat().st_size < 1024
    return path


def test_a_billion_laughs_pack_is_refused_by_the_library_at_the_alias_that_crosses_the_bound(
    bomb: Path,
) -> None:
    with pytest.raises(RulePackError, match="expands to more than 50,000 nodes through this alias") as caught:
        validate_pack(bomb)
    assert (caught.value.path, caught.value.line) == (str(bomb), 7)


@pytest.mark.parametrize("reader", ["validate", "check-rules", "list-rules", "profiles", "brand", "curve"])
def test_every_yaml_the_cli_reads_refuses_a_billion_laughs_in_one_line(
    bomb: Path, tone: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], reader: str
) -> None:
    html = str(tmp_path / "r.html")
    args = {
        "validate": ["rules", "validate", str(bomb)],
        "check-rules": ["check", str(tone), "--rules", str(bomb)],
        "list-rules": ["rules", "list", "--rules", str(bomb)],
        "profiles": ["rules", "profiles", "--rules", str(bomb)],
        "brand": ["check", str(tone), "--brand", str(bomb), "--html", html],
        "curve": ["check", str(tone), "--curve", str(bomb)],
    }[reader]
    assert main(args) == 2
    line = _one_error_line(capsys)
    assert re.search(r"bomb\.yaml:7:\d+: refusing this YAML: it expands to more than 50,000 nodes", line)


def test_a_merge_key_bomb_is_refused() -> None:
    lines = ["m0: &m0 {k: v}"]
    lines += [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: v}}" for i in range(1, 40)]
    with pytest.raises(safeyaml.RefusedYAML, match="expands to more than"):
        safeyaml.safe_load("\n".join(lines) + "\n")


def test_more_aliases_than_the_bound_are_refused_even_when_they_expand_little() -> None:
    text = "a: &a x\nb: [" + ",".join(["*a"] * (safeyaml.MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(safeyaml.RefusedYAML, match="more than 1,000 aliases"):
        safeyaml.safe_load(text)


def test_deep_nesting_is_refused_instead_of_overflowing_the_stack(tmp_path: Path) -> None:
    pack = tmp_path / "deep.yaml"
    pack.write_text("pack: deep\nrules: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(RulePackError, match=r"deep\.yaml:2:\d+: refusing this YAML: it nests more than 64"):
        validate_pack(pack)


def test_a_document_with_too_many_plain_nodes_is_refused_where_it_crosses_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(safeyaml, "MAX_EXPANDED_NODES", 100)
    with pytest.raises(safeyaml.RefusedYAML, match="it has more than 100 nodes") as caught:
        safeyaml.safe_load("x:\n" + "".join(f"  - {i}\n" for i in range(200)))
    # nodes: the mapping, key x, the list, then item i (on line i + 2) is node i + 4: node 101 is on line 99
    assert caught.value.problem_mark is not None and caught.value.problem_mark.line + 1 == 99


def test_anchors_merges_and_recursive_aliases_within_the_bounds_still_load() -> None:
    text = "base: &b {severity: warning}\nrule: *b\nmerged: {<<: *b, id: x}\nr: &r [1, *r]\n"
    data = safeyaml.safe_load(text)
    assert data["rule"] == {"severity": "warning"} and data["merged"] == {"severity": "warning", "id": "x"}
    assert data["r"][1] is data["r"]


def test_a_pack_using_anchors_keeps_its_file_line_column_errors(tmp_path: Path) -> None:
    pack = tmp_path / "anchors.yaml"
    pack.write_text(
        "pack: studio\nextends: default\nrules:\n"
        "  - {id: true-peak, severity: &quiet warning}\n"
        "  - {id: harsh, severity: *quiet, enabled: maybe}\n"
    )
    with pytest.raises(RulePackError, match=r"anchors\.yaml:5:\d+: rules\[1\]\.enabled: "):
        validate_pack(pack)


# --- 2. templates with huge widths or precisions --------------------------------------------------------


def _override_pack(tmp_path: Path, key: str, template: str) -> Path:
    pack = tmp_path / "t.yaml"
    pack.write_text(f'pack: studio\nextends: default\nrules:\n  - id: true-peak\n    {key}: "{template}"\n')
    return pack


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{value:>100000000}", "format width 100000000 is more than 40"),
        ("{value:.100000f}", "format precision 100000 is more than 40"),
        ("{value:{threshold}}", "nested fields in a format spec are not allowed"),
        ("{value:0>41}", "format width 41 is more than 40"),
        ("{value:,.41f}", "format precision 41 is more than 40"),
        ("{value:0000000000000000000000000000000000000000099999}", "format width 99999 is more than 40"),
    ],
    ids=["width", "precision", "nested", "just-over", "grouped", "zero-padded"],
)
@pytest.mark.parametrize("key", ["message", "suggestion"])
def test_validate_refuses_a_huge_format_spec_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str, problem: str, key: str
) -> None:
    pack = _override_pack(tmp_path, key, template + " dBTP")
    assert main(["rules", "validate", str(pack)]) == 2
    line = _one_error_line(capsys)
    assert f"t.yaml:5:5: rules[0].{key}: bad template: field {{value}}: {problem}" in line


def test_a_format_spec_at_the_bound_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = _override_pack(tmp_path, "message", f"{{value:>{MAX_FORMAT_WIDTH}.{MAX_FORMAT_WIDTH}f}}")
    assert main(["rules", "validate", str(pack)]) == 0
    assert "ok" in capsys.readouterr().out


def test_validate_refuses_a_template_that_renders_longer_than_the_cap(tmp_path: Path) -> None:
    pack = _override_pack(tmp_path, "message", "x" * (MAX_RENDERED_CHARS + 1))
    with pytest.raises(RulePackError, match=r"t\.yaml:5:5: rules\[0\]\.message: .*longer than 2,000 char"):
        validate_pack(pack)


def test_an_album_rule_with_a_huge_width_is_refused() -> None:
    rule = {
        "id": "album-loudness-spread",
        "title": "t",
        "category": "loudness",
        "severity": "warning",
        "threshold": 4.0,
        "message": "{spread:>100000000}",
        "why": "w",
        "source": "s",
    }
    with pytest.raises(ValidationError, match="format width 100000000 is more than 40"):
        AlbumRule.model_validate(rule)


def _unchecked_rule(message: str) -> Rule:
    """A rule built without the loader's template checks (a library user's own Rule)."""
    return Rule.model_validate(
        {
            "id": "test-rule",
            "title": "Test",
            "category": "peaks",
            "feature": "true_peak_dbtp",
            "above": -1.0,
            "severity": "error",
            "message": message,
            "suggestion": "Fix it.",
            "why": "Because.",
            "source": "Test.",
        }
    )


@pytest.mark.parametrize("message", ["{value:>100000000}", "{value:.100000f}", "x" * 10**6 + "{value}"])
def test_rendering_is_capped_even_for_a_template_that_skipped_the_load_checks(message: str) -> None:
    features = FeatureSet(values={("true_peak_dbtp", params_key({})): 0.5})
    finding = evaluate(_unchecked_rule(message), features, Profile(name="p", description="p"))
    assert finding is not None and len(finding.message) <= MAX_RENDERED_CHARS


def test_bounded_format_stops_at_the_cap_and_refuses_what_load_would_refuse() -> None:
    assert bounded_format("{x}", {"x": "a" * 10**6}) == "a" * (MAX_RENDERED_CHARS - 1) + "…"
    assert bounded_format("{x:.1f} dB", {"x": 1.25}) == "1.2 dB"
    with pytest.raises(ValueError, match="plain name"):
        bounded_format("{x.__class__}", {"x": 1})
    assert format_spec_problem(">40") is None


# --- 3. files that are devices, pipes or too large -------------------------------------------------------


@pytest.mark.parametrize("option", ["--rules", "--brand", "--logo", "--curve"])
@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_device_or_a_fifo_named_for_an_option_is_refused_in_one_line(
    tone: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, special: str
) -> None:
    if special == "fifo":
        special = str(tmp_path / "pipe.yaml")
        os.mkfifo(special)  # nobody writes: opening it for reading the usual way would block
    assert main(["check", str(tone), option, special, "--html", str(tmp_path / "r.html")]) == 2
    line = _one_error_line(capsys)
    assert special in line and "not a regular file" in line


@pytest.mark.parametrize("command", [["rules", "validate"], ["check"]])
def test_a_device_as_the_pack_to_validate_or_the_audio_is_refused(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main([*command, "/dev/zero"]) == 2
    assert "/dev/zero: " in _one_error_line(capsys)


def test_an_oversized_rule_pack_is_refused_without_parsing_it(tmp_path: Path) -> None:
    pack = tmp_path / "huge.yaml"
    pack.write_text("pack: huge\n" + "# padding\n" * (safeyaml.MAX_YAML_BYTES // 10))
    with pytest.raises(RulePackError, match=r"huge\.yaml: cannot read the file \(larger than 1 MiB\)"):
        validate_pack(pack)


def test_an_oversized_logo_is_refused(tone: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(1 << 20))
    assert main(["check", str(tone), "--logo", str(logo), "--html", str(tmp_path / "r.html")]) == 2
    assert "logo is too large" in _one_error_line(capsys)


def test_a_bounded_read_returns_a_file_at_the_limit_and_refuses_one_byte_more(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 1000)
    assert safeyaml.read_bounded(path, 1000) == b"x" * 1000
    with pytest.raises(OSError, match="larger than"):
        safeyaml.read_bounded(path, 999)


# --- 4. control characters in names, tags, rule texts and options ---------------------------------------

HOSTILE = "evil\x1b[2J\x07\r\nname\u202e.wav"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\x1b[31mb", "a\\x1b[31mb"),
        ("bell\x07 nul\x00 del\x7f", "bell\\x07 nul\\x00 del\\x7f"),
        ("c1\x9b2J", "c1\\x9b2J"),
        ("one\ntwo\r\tthree", "one\\ntwo\\r\\tthree"),
        ("bidi\u202eevil\u2066", "bidi\\u202eevil\\u2066"),
        ("line\u2028sep", "line\\u2028sep"),
        ("Blue Room · Mastering é ♪", "Blue Room · Mastering é ♪"),
    ],
)
def test_visible_escapes_every_control_character_and_nothing_else(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_visible_multiline_keeps_newlines_and_tabs_only() -> None:
    assert visible("a\n\tb\r\x1b", multiline=True) == "a\n\tb\\r\\x1b"


def test_a_missing_file_with_control_characters_gives_one_escaped_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / HOSTILE)]) == 2
    line = _one_error_line(capsys)
    assert "evil\\x1b[2J\\x07\\r\\nname\\u202e.wav: no such file" in line


def test_a_bad_option_value_with_control_characters_is_escaped_by_argparse(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["check", "x.wav", "--fail-on", "bad\x1b[2J\nvalue"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "bad\\x1b[2J\\nvalue" in err


def test_terminal_markdown_and_html_show_a_hostile_file_name_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mix = _write_tone(tmp_path / HOSTILE)
    brand = tmp_path / "brand.yaml"
    brand.write_text('studio: "Evil\\e7\\a Studio"\nnote: "line one\\nline two\\e[2J"\n')
    html = tmp_path / "r.html"
    assert main(["check", str(mix), "--no-color", "--brand", str(brand), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert not RAW_CONTROLS.search(out) and "evil\\x1b[2J\\x07\\r\\nname\\u202e.wav" in out
    page = html.read_text(encoding="utf-8")
    assert not RAW_CONTROLS.search(page)
    assert "Evil\\x1b7\\x07 Studio" in page and "line one\nline two\\x1b[2J" in page
    assert main(["check", str(mix), "--md", "-", "--brand", str(brand)]) == 0
    markdown = capsys.readouterr().out
    assert not RAW_CONTROLS.search(markdown) and "Evil\\\\x1b7\\\\x07 Studio" in markdown


def test_rule_texts_with_control_characters_are_shown_escaped(
    tone: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "studio.yaml"
    pack.write_text(
        'pack: studio\nextends: default\nrules:\n  - id: abrupt-end\n'
        '    title: "Abrupt\\e[2J end"\n    message: "The mix stops dead.\\a\\e[31m"\n'
    )
    assert main(["rules", "show", "abrupt-end", "--rules", str(pack)]) == 0
    shown = capsys.readouterr().out
    assert not RAW_CONTROLS.search(shown) and "Abrupt\\x1b[2J end" in shown
    assert main(["check", str(tone), "--rules", str(pack), "--no-color"]) == 0
    out = capsys.readouterr().out
    assert not RAW_CONTROLS.search(out) and "The mix stops dead.\\x07\\x1b[31m" in out


def test_a_qcerror_with_a_newline_stays_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pack = tmp_path / "two\nlines.yaml"
    pack.write_text("pack: [unclosed\n")
    assert main(["rules", "validate", str(pack)]) == 2
    assert "two\\nlines.yaml:" in _one_error_line(capsys)
    with pytest.raises(QCError):
        validate_pack(pack)


def test_every_yaml_read_in_qc_goes_through_safeyaml() -> None:
    """Every YAML read in qc/ goes through qc.safeyaml (no direct yaml.safe_load / yaml.load / Loader)."""
    package = Path(__file__).resolve().parent.parent / "qc"
    direct = re.compile(r"(?<![\w.])yaml\.(safe_load|load|full_load|unsafe_load|\w*Loader|compose)\b")
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "safeyaml.py" and direct.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
