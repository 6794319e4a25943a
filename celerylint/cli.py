"""Command line: `celerylint check | rules | explain` (RULES.md §3)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from celerylint import __version__
from celerylint.config import ConfigError, load_settings
from celerylint.diagnostics import Diagnostic, Report
from celerylint.engine.discover import find_project_root
from celerylint.rules import all_rules, is_code_selector, rule_by_code

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line on stderr, exit 2
        raise _Usage(message)


class _Usage(Exception):
    pass


def _codes(text: str) -> tuple[str, ...]:
    codes = tuple(c.strip().upper() for c in text.split(",") if c.strip())
    for code in codes:
        if not is_code_selector(code):
            raise argparse.ArgumentTypeError(f"unknown rule code or prefix {code!r}")
    return codes


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from celerylint.output import FORMATS

    parser = _Parser(prog="celerylint", description="Static analysis of Celery tasks and beat schedules.")
    parser.add_argument("--version", action="version", version=f"celerylint {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    check = sub.add_parser("check", help="check the project")
    check.add_argument("paths", nargs="*", metavar="PATHS")
    check.add_argument("--select", type=_codes, default=None, metavar="CODES")
    check.add_argument("--ignore", type=_codes, default=(), metavar="CODES")
    check.add_argument("--format", choices=FORMATS, default="text")
    check.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    check.add_argument("--unsafe-fixes", action="store_true", help="also apply fixes that can change behaviour")
    check.add_argument("--diff", action="store_true", help="print the fixes as a diff and write nothing")
    check.add_argument("--config", metavar="FILE")
    check.add_argument("--no-cache", action="store_true")
    check.add_argument("--jobs", type=_jobs, default=None, metavar="N")
    check.add_argument("--verbose", action="store_true")
    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--format", choices=("text", "json"), default="text")
    explain = sub.add_parser("explain", help="document a rule")
    explain.add_argument("code")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(args_list)
        if args.command == "check":
            return _check(args)
        if args.command == "rules":
            return _rules(args.format)
        if args.command == "explain":
            return _explain(args.code)
        print("celerylint: error: expected a command: check, rules or explain", file=sys.stderr)
        return EXIT_ERROR
    except _Usage as exc:
        print(f"celerylint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ConfigError as exc:
        print(f"celerylint: configuration error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("celerylint: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # never a traceback for users; CELERYLINT_DEBUG=1 shows it
        if os.environ.get("CELERYLINT_DEBUG"):
            raise
        print(f"celerylint: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _check(args: argparse.Namespace) -> int:
    from celerylint.engine import UsageError, check
    from celerylint.fixes.apply import fix_until_stable
    from celerylint.output import render

    start = args.paths[0] if args.paths else os.getcwd()
    if not os.path.exists(start):
        raise _Usage(f"{start}: no such file or directory")
    root = find_project_root(start)
    settings = load_settings(root, args.config)

    def run(overlay=None):
        try:
            return check(args.paths, settings, root, use_cache=not args.no_cache, jobs=args.jobs,
                         select=args.select, ignore=args.ignore, verbose=args.verbose, overlay=overlay)
        except UsageError as exc:
            raise _Usage(str(exc)) from None

    result = run()
    fixed = 0
    if args.fix or args.diff:
        result, changed, fixed = fix_until_stable(run, result, root, args.unsafe_fixes)
        if args.diff:
            _print_diff(changed, root)
            return EXIT_FINDINGS if changed else EXIT_OK
        for rel, (_, new) in changed.items():  # `result` already holds the findings left
            with open(os.path.join(root, rel), "wb") as fh:
                fh.write(new)
    for warning in result.warnings:
        print(f"celerylint: warning: {warning}", file=sys.stderr)
    if args.verbose:
        for note in result.notes:
            print(f"celerylint: {note}", file=sys.stderr)
    cwd = os.getcwd()
    shown = [_relative_to_cwd(d, result.root, cwd) for d in result.diagnostics]
    report = Report(shown, result.files_checked, fixed, result.seconds, __version__,
                    color=args.format == "text" and _use_color(), rules=list(all_rules()))
    text = render(args.format, report)
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_FINDINGS if shown else EXIT_OK



def _print_diff(changes: dict[str, tuple[bytes, bytes]], root: str) -> None:
    """`--diff`: {rel: (old, new)} as a unified diff, paths relative to the current directory."""
    import difflib

    cwd = os.getcwd()
    for rel, (old, new) in sorted(changes.items()):
        shown = os.path.relpath(os.path.join(root, rel), cwd).replace(os.sep, "/")
        old_text = old.decode("utf-8", "replace").splitlines(keepends=True)
        new_text = new.decode("utf-8", "replace").splitlines(keepends=True)
        sys.stdout.writelines(difflib.unified_diff(old_text, new_text, f"a/{shown}", f"b/{shown}"))


def _relative_to_cwd(diag: Diagnostic, root: str, cwd: str) -> Diagnostic:
    from dataclasses import replace

    path = os.path.relpath(os.path.join(root, diag.path), cwd).replace(os.sep, "/")
    return replace(diag, path=path)


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def _rules(fmt: str) -> int:
    rules = all_rules()
    if fmt == "json":
        data = [{"code": r.code, "summary": r.summary, "default": not r.opt_in, "fixable": r.fixable,
                 "fix_safety": r.fix_safety if r.fixable else None, "severity": r.severity} for r in rules]
        print(json.dumps(data, indent=2))
        return EXIT_OK
    width = max(len(r.summary) for r in rules)
    print(f"{'code':<8} {'summary':<{width}}  default  fix")
    for r in rules:
        print(f"{r.code:<8} {r.summary:<{width}}  {'off' if r.opt_in else 'on':<7}  {r.fix_safety if r.fixable else '-'}")
    return EXIT_OK


def _explain(code: str) -> int:
    rule = rule_by_code(code)
    if rule is None:
        raise _Usage(f"unknown rule code {code!r} (see `celerylint rules`)")
    print(rule.documentation(), end="")
    return EXIT_OK
