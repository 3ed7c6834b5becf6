"""The ``mixqc`` command: argument parsing, printing and exit codes (the only module that prints).

Exit status: 0 when no finding is at or above ``--fail-on``; 1 when one is; 2 on a usage error, an input
that cannot be analysed, or an invalid rule pack (one line on stderr, no traceback unless ``--debug``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import __version__
from .errors import QCError
from .outputs import AUDIO_SUFFIXES, check_output_path, write_atomic
from .text import visible

if TYPE_CHECKING:
    from .branding import Branding
    from .report.model import Report

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ("html", "pdf", "json", "md")
DEFAULT_FORMATS = ("json", "html")
SUMMARY_NAMES = {"html": "index.html", "pdf": "summary.pdf", "json": "summary.json", "md": "summary.md"}
RESERVED_STEMS = ("index", "summary")  # a track called index.wav must not overwrite the summary


class _Parser(argparse.ArgumentParser):
    """argparse, with the values its errors quote shown escaped (no terminal codes, no extra lines)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {visible(message)}\n")


class _VisibleFormatter(logging.Formatter):
    """Log records with control characters escaped (tracebacks keep their lines)."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record), multiline=True)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mixqc",
        description="Rule-based mix QC: loudness, true peak, clipping and more, explained in plain language.",
    )
    parser.add_argument("--version", action="version", version=f"mixqc {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and diagnostics")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser("check", help="check one or more mixes (files or folders)")
    check.add_argument("paths", nargs="+", metavar="PATH", help="audio files, or folders to search for them")
    _add_rule_options(check)
    check.add_argument("--json", metavar="FILE", help="write the JSON report to FILE ('-' for stdout)")
    check.add_argument("--html", metavar="FILE", help="write the HTML report to FILE")
    check.add_argument("--pdf", metavar="FILE", help="write the PDF report to FILE")
    check.add_argument(
        "--md", metavar="FILE", help="write a Markdown summary (for an email) to FILE ('-': stdout)"
    )
    check.add_argument(
        "--out",
        metavar="DIR",
        help="write a report per input into DIR (formats: --format), plus index.html / summary.pdf / "
        "summary.json / summary.md for the whole run with the album checks",
    )
    check.add_argument(
        "--format",
        metavar="LIST",
        default=None,
        help=f"report formats written with --out, comma-separated from {', '.join(FORMATS)} "
        f"(default: {','.join(DEFAULT_FORMATS)})",
    )
    branding = check.add_argument_group("branding (client reports)")
    branding.add_argument(
        "--brand", metavar="FILE", help="YAML file: studio, logo, contact, footer, note, accent_color"
    )
    branding.add_argument("--studio", metavar="NAME", help="studio name shown on the reports")
    branding.add_argument("--logo", metavar="FILE", help="logo image (PNG, JPEG, GIF, WebP or SVG), embedded")
    branding.add_argument("--contact", metavar="TEXT", help="contact line under the studio name")
    branding.add_argument("--footer", metavar="TEXT", help="footer text on every page")
    branding.add_argument("--note", metavar="TEXT", help="a note to the client, shown on page one")
    check.add_argument(
        "--fail-on",
        choices=("info", "warning", "error"),
        default="error",
        help="exit 1 when a finding is at or above this severity (default: error)",
    )
    check.add_argument(
        "--curve",
        metavar="NAME|FILE",
        help="tonal target curve: default, bright, warm, wide (lenient), or a YAML file",
    )
    check.add_argument(
        "--thorough",
        action="store_true",
        help="codec round trip on the whole file instead of its loudest passages (slow)",
    )
    check.add_argument("--no-color", action="store_true", help="no ANSI colours in the terminal summary")
    check.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")

    demo = commands.add_parser("demo", help="synthesise a short mix with planted problems and check it")
    demo.add_argument("--out", metavar="DIR", default="mixqc-demo", help="folder for the demo files")
    demo.add_argument("--profile", default="streaming", help="profile to check against (default: streaming)")
    demo.add_argument("--no-color", action="store_true", help="no ANSI colours")

    _add_master_parser(commands)

    rules = commands.add_parser("rules", help="list, explain and validate rules and profiles")
    rule_commands = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    listing = rule_commands.add_parser("list", help="list the rules (default pack plus --rules packs)")
    _add_rule_options(listing)
    show = rule_commands.add_parser("show", help="explain one rule: what, why, how to fix, options")
    show.add_argument("rule_id", metavar="ID")
    show.add_argument("--rules", action="append", default=[], metavar="FILE", help="extra rule pack")
    validate = rule_commands.add_parser("validate", help="validate rule pack files")
    validate.add_argument("files", nargs="+", metavar="FILE")
    profiles = rule_commands.add_parser("profiles", help="list the delivery profiles and their targets")
    profiles.add_argument("--rules", action="append", default=[], metavar="FILE", help="extra rule pack")

    schema = commands.add_parser("schema", help="print the JSON Schema of the report")
    schema.add_argument("--out", metavar="FILE", help="write it to FILE instead")
    schema.add_argument("--master", action="store_true", help="the schema of mixqc master's report instead")
    return parser


def _add_master_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    master = commands.add_parser(
        "master",
        help="corrective master: fix what the check safely can, then check the result",
        description="Check IN, apply only the corrective stages its findings call for (DC removal, click "
        "repair, bounded EQ, trim/fades), one static gain to the loudness target and a true-peak limiter "
        "that only catches peaks; write OUT atomically and check it again. IN is never modified.",
    )
    master.add_argument("input", metavar="IN", help="the mix (WAV, FLAC, AIFF, OGG or MP3)")
    master.add_argument(
        "--out", required=True, metavar="OUT", help="the master to write (.wav, .flac, .aiff)"
    )
    _add_rule_options(master, default_profile="streaming")
    master.add_argument(
        "--target-lufs", type=float, metavar="LUFS", help="loudness target (default: profile's)"
    )
    master.add_argument(
        "--ceiling-dbtp", type=float, metavar="DBTP", help="true-peak ceiling (default: profile's, else -1)"
    )
    master.add_argument("--bit-depth", type=int, choices=(16, 24), help="output bit depth (TPDF dither)")
    master.add_argument("--sample-rate", type=int, metavar="HZ", help="output sample rate (soxr VHQ)")
    master.add_argument(
        "--max-limiting",
        type=float,
        default=None,
        metavar="DB",
        help="most gain reduction the limiter may use before master stops (default: profile's, else 2 dB)",
    )
    master.add_argument(
        "--max-limited-share",
        type=float,
        default=None,
        metavar="PERCENT",
        help="largest share of the track the limiter may touch before master stops "
        "(default: profile's, else 5%%)",
    )
    master.add_argument(
        "--skip", metavar="LIST", default="", help="repair stages not to run: dc,declick,eq,trim,limiter"
    )
    tags = master.add_argument_group("metadata written into OUT")
    tags.add_argument("--isrc", metavar="CC-XXX-YY-NNNNN", help="ISRC (ISO 3901), validated")
    tags.add_argument("--artist", metavar="TEXT")
    tags.add_argument("--title", metavar="TEXT")
    tags.add_argument("--album", metavar="TEXT")
    master.add_argument(
        "--report", metavar="DIR", help="write the before/after report into DIR (formats: --format)"
    )
    master.add_argument(
        "--format",
        metavar="LIST",
        default=None,
        help=f"report formats written with --report, from {', '.join(FORMATS[:3])} (default: json,html)",
    )
    master.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (never IN)")
    master.add_argument("--no-color", action="store_true", help="no ANSI colours")
    master.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")


def _add_rule_options(parser: argparse.ArgumentParser, *, default_profile: str | None = None) -> None:
    default_name = default_profile or "premaster"
    parser.add_argument(
        "--profile",
        default=default_profile,
        help=f"delivery profile (default: {default_name}): premaster, streaming, spotify, apple-music, "
        "cd, ... ('mixqc rules profiles' lists them)",
    )
    parser.add_argument(
        "--rules",
        action="append",
        default=[],
        metavar="FILE",
        help="extra YAML rule pack (repeatable): adds rules, overrides or disables them by id",
    )


def _expand_inputs(paths: Sequence[str]) -> list[str]:
    """Files as given; folders replaced by the audio files found in them (recursively, sorted)."""
    found: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(
                str(p) for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
            )
            if not inside:
                raise QCError(f"{raw}: folder contains no audio files")
            found.extend(inside)
        else:
            found.append(raw)
    return found


def _unique_stems(paths: Sequence[str], reserved: Sequence[str] = RESERVED_STEMS) -> list[str]:
    """Output base names, one per input, made unique by a numeric suffix where stems collide (also with
    the summary's names, ``reserved``)."""
    seen: dict[str, int] = dict.fromkeys(reserved, 1)
    names = []
    for path in paths:
        stem = Path(path).stem or "report"
        count = seen.get(stem, 0) + 1
        seen[stem] = count
        names.append(stem if count == 1 else f"{stem}-{count}")
    return names


def _formats(text: str) -> tuple[str, ...]:
    """The ``--format`` list, validated: known names, each once, in the order given."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise QCError(f"--format {text!r}: expected a comma-separated list of {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(names))


def _branding(args: argparse.Namespace) -> Branding:
    from .branding import load_branding

    overrides = {key: getattr(args, key) for key in ("studio", "logo", "contact", "footer", "note")}
    return load_branding(args.brand, overrides)


def _renderers(branding: Branding) -> dict[str, tuple[str, Callable[[Report], str | bytes]]]:
    """Format name -> (file suffix, renderer of one report)."""
    from .report import render_html, render_json, render_markdown, render_pdf

    return {
        "json": (".json", lambda report: render_json(report) + "\n"),
        "html": (".html", lambda report: render_html(report, branding)),
        "pdf": (".pdf", lambda report: render_pdf(report, branding)),
        "md": (".md", lambda report: render_markdown(report, branding)),
    }


def _write_summary(
    out_dir: Path,
    formats: Sequence[str],
    reports: Sequence[Report],
    stems: Sequence[str],
    failed: Sequence[tuple[str, str]],
    branding: Branding,
    inputs: Sequence[str],
) -> None:
    from .report import render_summary_html, render_summary_json, render_summary_markdown, render_summary_pdf
    from .report.batch import summarize

    links = [f"{stem}.html" if "html" in formats else None for stem in stems]
    summary = summarize(reports, links=links, failed=failed)
    writers: dict[str, Callable[[], str | bytes]] = {
        "html": lambda: render_summary_html(summary, branding),
        "pdf": lambda: render_summary_pdf(summary, branding),
        "json": lambda: render_summary_json(summary) + "\n",
        "md": lambda: render_summary_markdown(summary, branding),
    }
    for name in formats:
        target = out_dir / SUMMARY_NAMES[name]
        check_output_path(target, inputs)
        write_atomic(target, writers[name]())


def _check(args: argparse.Namespace) -> int:
    from .check import DEFAULT_PROFILE, Checker
    from .findings import at_or_above
    from .report import render_batch_terminal, render_json, render_markdown, render_terminal

    inputs = _expand_inputs(args.paths)
    several = len(inputs) > 1
    if args.format is not None and not args.out:
        raise QCError("--format chooses the reports written with --out DIR; for one file use --html, --pdf")
    formats = _formats(args.format or ",".join(DEFAULT_FORMATS))
    for option, value in (("--html", args.html), ("--pdf", args.pdf), ("--md", args.md)):
        if several and value not in (None, "-"):
            raise QCError(f"{option} FILE takes one input; with several inputs use --out DIR")
    if several and args.json not in (None, "-"):
        raise QCError("--json FILE takes one input; with several inputs use --out DIR or --json -")
    if args.json == "-" and args.md == "-":
        raise QCError("--json - and --md - cannot both write to stdout; give one of them a file name")
    if args.html == "-" or args.pdf == "-":
        raise QCError("--html and --pdf need a file name ('-' is only for --json and --md)")
    for output in (args.json, args.html, args.pdf, args.md):
        if output and output != "-":
            check_output_path(output, inputs)
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise QCError(f"{out_dir}: exists and is not a folder")
        out_dir.mkdir(parents=True, exist_ok=True)

    branding = _branding(args)
    renderers = _renderers(branding)
    checker = Checker(args.profile or DEFAULT_PROFILE, args.rules, thorough=args.thorough, curve=args.curve)
    color = not args.no_color and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    to_stdout = args.json == "-" or args.md == "-"
    summary_stream = sys.stderr if to_stdout else sys.stdout
    reports, stems_done, failures, stdout_texts = [], [], [], []
    for path, stem in zip(inputs, _unique_stems(inputs), strict=True):
        try:
            report = checker.check(path)
            if args.json == "-":
                stdout_texts.append(render_json(report))
            elif args.json:
                write_atomic(args.json, render_json(report) + "\n")
            if args.md == "-":
                stdout_texts.append(render_markdown(report, branding))
            for option, name in ((args.html, "html"), (args.pdf, "pdf"), (args.md, "md")):
                if option and option != "-":
                    write_atomic(option, renderers[name][1](report))
            if out_dir is not None:
                for name in formats:
                    suffix, render = renderers[name]
                    target = out_dir / f"{stem}{suffix}"
                    check_output_path(target, inputs)
                    write_atomic(target, render(report))
        except QCError as exc:
            failures.append((path, str(exc)))
            print(f"mixqc: {visible(exc)}", file=sys.stderr)
            continue
        except Exception as exc:  # a bug on one input must not stop a batch
            if args.debug:
                traceback.print_exc()
            message = f"internal error while checking: {type(exc).__name__}: {exc}"
            failures.append((path, message))
            print(f"mixqc: {visible(path)}: {visible(message)}", file=sys.stderr)
            continue
        reports.append(report)
        stems_done.append(stem)
        if not args.quiet and not several:
            print(render_terminal(report, color=color), file=summary_stream)

    if stdout_texts:
        if args.md == "-":
            sys.stdout.write("\n".join(stdout_texts))
        else:
            print(stdout_texts[0] if not several else "[\n" + ",\n".join(stdout_texts) + "\n]")
    if several and not args.quiet and reports:
        print(render_batch_terminal(reports, color=color), file=summary_stream)
    if out_dir is not None and reports:
        _write_summary(out_dir, formats, reports, stems_done, failures, branding, inputs)
        if not args.quiet:
            print(f"reports written to {visible(out_dir)}/", file=summary_stream)
    if failures:
        return EXIT_ERROR
    flagged = any(
        at_or_above(f.severity, args.fail_on) and not f.skipped for report in reports for f in report.findings
    )
    return EXIT_FINDINGS if flagged else EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from .check import Checker
    from .demo import write_demo_mix
    from .report import render_html, render_json, render_terminal

    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise QCError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    mix = write_demo_mix(out_dir / "demo-mix.wav")
    report = Checker(args.profile).check(mix)
    json_path = write_atomic(out_dir / "demo-mix.json", render_json(report) + "\n")
    html_path = write_atomic(out_dir / "demo-mix.html", render_html(report))
    color = not args.no_color and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    print(render_terminal(report, color=color))
    print()
    print(f"demo mix:    {visible(mix)}")
    print(f"JSON report: {visible(json_path)}")
    print(f"HTML report: {visible(html_path)}")
    print()
    print("Corrective master and a before/after report:")
    print(visible(f"  mixqc master {mix} --out {out_dir / 'demo-master.wav'} --report {out_dir}"))
    return EXIT_OK


def _master(args: argparse.Namespace) -> int:
    from .master.chain import master

    inputs = [args.input]
    formats = _formats(args.format or "json,html")
    if "md" in formats:
        raise QCError("--format for master: choose from json, html, pdf")
    if args.format is not None and not args.report:
        raise QCError("--format chooses the reports written with --report DIR")
    report_dir = Path(args.report) if args.report else None
    if report_dir is not None:
        if report_dir.exists() and not report_dir.is_dir():
            raise QCError(f"{report_dir}: exists and is not a folder")
        for name in formats:
            check_output_path(report_dir / f"{Path(args.out).stem}-report.{name}", [*inputs, args.out])
    share = None if args.max_limited_share is None else args.max_limited_share / 100.0
    if share is not None and not 0.0 <= share <= 1.0:
        raise QCError("--max-limited-share: expected a percentage from 0 to 100")
    result = master(
        args.input,
        args.out,
        profile=args.profile,
        rule_packs=args.rules,
        target_lufs=args.target_lufs,
        ceiling_dbtp=args.ceiling_dbtp,
        bit_depth=args.bit_depth,
        sample_rate=args.sample_rate,
        max_limiting_db=args.max_limiting,
        max_limited_share=share,
        skip=[name.strip() for name in args.skip.split(",") if name.strip()],
        tags={"isrc": args.isrc, "artist": args.artist, "title": args.title, "album": args.album},
        overwrite=args.overwrite,
    )
    written = []
    if report_dir is not None:
        from .report.master import render_master_html, render_master_json, render_master_pdf

        report_dir.mkdir(parents=True, exist_ok=True)
        renderers: dict[str, Callable[[], str | bytes]] = {
            "json": lambda: render_master_json(result) + "\n",
            "html": lambda: render_master_html(result),
            "pdf": lambda: render_master_pdf(result),
        }
        for name in formats:
            target = report_dir / f"{Path(args.out).stem}-report.{name}"
            written.append(write_atomic(target, renderers[name]()))
    if not args.quiet:
        from .report.master import render_master_terminal

        color = not args.no_color and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        print(render_master_terminal(result, color=color))
        print(f"master written to {visible(result.output_path)}")
        for path in written:
            print(f"report: {visible(path)}")
    return EXIT_FINDINGS if result.after.verdict == "fail" else EXIT_OK


def _rules(args: argparse.Namespace) -> int:
    from .rules import docs, load_profiles, load_rules, validate_pack

    if args.rules_command == "validate":
        for file in args.files:
            ruleset = validate_pack(Path(file))
            print(f"{visible(file)}: ok ({len(ruleset.rules)} rules)")
        return EXIT_OK
    packs = [Path(p) for p in args.rules]
    if args.rules_command == "profiles":
        print(visible(docs.profile_list_text(load_profiles(packs)), multiline=True))
        return EXIT_OK
    ruleset = load_rules(packs)
    if args.rules_command == "list":
        profile = ruleset.profile(args.profile).name if args.profile else None
        print(visible(docs.rule_list_text(ruleset, profile=profile), multiline=True))
        return EXIT_OK
    rule = ruleset.get(args.rule_id)
    shown = docs.rule_show_text(rule, ruleset.profiles, origin=ruleset.origin[rule.id])
    print(visible(shown, multiline=True))
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from .report.schema import report_json_schema_text

    text = report_json_schema_text(master=args.master)
    if args.out:
        write_atomic(args.out, text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _check,
    "demo": _demo,
    "master": _master,
    "rules": _rules,
    "schema": _schema,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mixqc`` command line; return the exit status."""
    # Block-sized matrix products gain nothing from BLAS threads and stall on a busy machine; this must be
    # set before numpy is first imported (nothing above imports it).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = _build_parser().parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(_VisibleFormatter("mixqc: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, handlers=[handler])
    try:
        return _COMMANDS[args.command](args)
    except QCError as exc:
        print(f"mixqc: {visible(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("mixqc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        print(
            f"mixqc: internal error in '{args.command}': {type(exc).__name__}: {visible(exc)} "
            "(run with --debug for details and report it)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
