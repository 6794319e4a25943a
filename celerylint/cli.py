"""Command line: `celerylint check | rules | explain | server` (RULES.md §3)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from typing import Sequence

from celerylint import __version__
from celerylint.baseline import BaselineError
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
    check.add_argument("paths", nargs="*", metavar="PATHS", help="files and directories whose findings are "
                       "reported (default: the project); '-' reads the source from stdin (--stdin-filename)")
    check.add_argument("--select", type=_codes, default=None, metavar="CODES")
    check.add_argument("--ignore", type=_codes, default=(), metavar="CODES")
    check.add_argument("--extend-select", type=_codes, default=(), metavar="CODES",
                       help="rules to enable besides the selected ones")
    check.add_argument("--extend-ignore", type=_codes, default=(), metavar="CODES",
                       help="rules to disable besides the ignored ones")
    check.add_argument("--format", "--output-format", dest="format", choices=FORMATS, default="text")
    check.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    check.add_argument("--unsafe-fixes", action="store_true", help="also apply fixes that can change behaviour")
    check.add_argument("--diff", action="store_true", help="print the fixes as a diff and write nothing")
    check.add_argument("--show-fixes", action="store_true", help="list the fixes applied (file, code, count)")
    check.add_argument("--config", metavar="FILE")
    check.add_argument("--no-cache", action="store_true")
    check.add_argument("--jobs", type=_jobs, default=None, metavar="N")
    check.add_argument("--verbose", action="store_true")
    check.add_argument("-q", "--quiet", action="store_true", help="print the findings only, no summary")
    check.add_argument("-s", "--silent", action="store_true", help="print nothing; the exit status tells")
    check.add_argument("-e", "--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--exit-non-zero-on-fix", action="store_true",
                       help="exit 1 when --fix fixed something, even if no finding is left")
    check.add_argument("--statistics", action="store_true", help="count the findings per rule instead")
    check.add_argument("--add-noqa", action="store_true",
                       help="add `# noqa: CODE` to every finding's line (merged with codes already there)")
    check.add_argument("--baseline", metavar="FILE", help="do not report the findings recorded in FILE")
    check.add_argument("--write-baseline", metavar="FILE", help="record the current findings in FILE")
    check.add_argument("--stdin-filename", metavar="PATH",
                       help="read the source of PATH from standard input (PATHS: '-' or nothing)")
    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--format", choices=("text", "json"), default="text")
    tenancy = sub.add_parser("tenancy", help="show how the project restores tenant context (what the tenant "
                             "rules concluded, and why)")
    tenancy.add_argument("path", nargs="?", default=None, help="the project (default: the current directory)")
    tenancy.add_argument("--format", choices=("text", "json"), default="text")
    tenancy.add_argument("--config", metavar="FILE", help="configuration file (default: pyproject.toml)")
    tenancy.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    explain = sub.add_parser("explain", help="document a rule")
    explain.add_argument("code")
    server = sub.add_parser("server", help="run the language server (LSP, stdio)")
    server.add_argument("--config", metavar="FILE", help="configuration for every project (default: each "
                        "project's pyproject.toml)")
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
        if args.command == "tenancy":
            return _tenancy(args)
        if args.command == "server":
            return _server(args)
        print("celerylint: error: expected a command: check, rules, explain, tenancy or server", file=sys.stderr)
        return EXIT_ERROR
    except _Usage as exc:
        print(f"celerylint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ConfigError as exc:
        print(f"celerylint: configuration error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BaselineError as exc:
        print(f"celerylint: error: {exc}", file=sys.stderr)
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


def console_main() -> None:
    """The `celerylint` command (and `python -m celerylint`): `main`, then out without
    tearing the interpreter down. Everything is written by then (the cache, the output,
    flushed here); after a check of a large project, freeing its objects one by one would
    take a good part of a second more."""
    # A run builds a large heap of long-lived objects (facts, the index) and little
    # cyclic garbage: collecting as often as by default costs a fifth of a cold run
    # (mypy raises the threshold alike).
    gc.set_threshold(200_000, 30, 30)
    code = main()
    for stream in (sys.stdout, sys.stderr):
        if stream.closed:  # the language server's transport closes stdout when the client exits
            continue
        try:
            stream.flush()
        except OSError:  # the reader went away (`| head`): what was left is lost
            code = code or EXIT_ERROR
    os._exit(code)


def _exclusive(args: argparse.Namespace) -> None:
    """--add-noqa and --write-baseline are runs of their own: a one-line usage error when
    combined with each other, with fixing or with stdin."""
    options = (("--add-noqa", args.add_noqa), ("--write-baseline", bool(args.write_baseline)), ("--fix", args.fix),
               ("--diff", args.diff), ("--stdin-filename", args.stdin_filename is not None))
    given = [name for name, on in options if on]
    if given and given[0] in ("--add-noqa", "--write-baseline") and len(given) > 1:
        raise _Usage(f"{given[0]} cannot be combined with {', '.join(given[1:])}")


def _stdin_source(args: argparse.Namespace) -> tuple[list[str], dict[str, bytes]]:
    """(PATHS, overlay): with --stdin-filename, the file's content comes from stdin and is
    checked in place of the file on disk, in the whole project's context."""
    paths = list(args.paths)
    if args.stdin_filename is None:
        if "-" in paths:
            raise _Usage("PATHS '-' reads the source from standard input: name its file with --stdin-filename PATH")
        return paths, {}
    if any(p != "-" for p in paths):
        raise _Usage("--stdin-filename checks standard input only: give no other PATHS (or '-')")
    path = os.path.normpath(os.path.abspath(args.stdin_filename))
    if not os.path.isfile(path):
        raise _Usage(f"{args.stdin_filename}: no such file (--stdin-filename names a file of the project)")
    return [args.stdin_filename], {path: sys.stdin.buffer.read()}


def _check(args: argparse.Namespace) -> int:
    from celerylint.engine import UsageError, check
    from celerylint.fixes.apply import fix_until_stable

    _exclusive(args)
    paths, stdin_overlay = _stdin_source(args)
    start = paths[0] if paths else os.getcwd()
    if not os.path.exists(start):
        raise _Usage(f"{start}: no such file or directory")
    root = find_project_root(start)
    settings = load_settings(root, args.config)
    baseline = None if args.write_baseline else _load_baseline(args.baseline, settings, root)

    def run(overlay=None):
        try:
            return check(paths, settings, root, use_cache=not args.no_cache, jobs=args.jobs,
                         select=args.select, ignore=tuple(args.ignore) + tuple(args.extend_ignore),
                         extend_select=tuple(args.extend_select), verbose=args.verbose,
                         overlay={**stdin_overlay, **(overlay or {})} or None, baseline=baseline, reuse=True)
        except UsageError as exc:
            raise _Usage(str(exc)) from None

    result = run()
    if args.add_noqa:
        return _add_noqa(result, args)
    if args.write_baseline:
        return _write_baseline(result, args)
    fixed = 0
    applied: list[Diagnostic] = []
    changed: dict[str, tuple[bytes, bytes]] = {}
    if args.fix or args.diff:
        result, changed, fixed = fix_until_stable(run, result, root, args.unsafe_fixes, stdin_overlay, applied)
    cwd = os.getcwd()
    fixes = _fix_counts(applied, root, cwd) if args.show_fixes else []
    if args.diff:
        if not args.silent:
            _print_diff(changed, root)
            if fixes:
                lines = _fix_lines(fixes)
                lines[0] = lines[0].replace("Fixed", "Would fix", 1)
                sys.stderr.write("\n".join(lines) + "\n")
        return EXIT_OK if args.exit_zero or not changed else EXIT_FINDINGS
    stdin_fix = bool(stdin_overlay) and args.fix
    if stdin_fix:  # ruff's behaviour: the fixed source on stdout, the report on stderr
        (path, original), = stdin_overlay.items()
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        sys.stdout.buffer.write(changed[rel][1] if rel in changed else original)
        sys.stdout.flush()
    else:
        for rel, (_, new) in changed.items():  # `result` already holds the findings left
            with open(os.path.join(root, rel), "wb") as fh:
                fh.write(new)
    if not (args.quiet or args.silent):
        for warning in result.warnings:
            print(f"celerylint: warning: {warning}", file=sys.stderr)
    if args.verbose:
        for note in result.notes:
            print(f"celerylint: {note}", file=sys.stderr)
    shown = [_relative_to_cwd(d, result.root, cwd) for d in result.diagnostics]
    if not args.silent:
        _report(args, shown, result, fixed, fixes, sys.stderr if stdin_fix else sys.stdout)
    if args.exit_zero:
        return EXIT_OK
    if args.fix and args.exit_non_zero_on_fix and fixed:
        return EXIT_FINDINGS
    return EXIT_FINDINGS if shown else EXIT_OK


def _report(args: argparse.Namespace, shown: list[Diagnostic], result, fixed: int, fixes: list, out) -> None:
    from celerylint.output import render, statistics

    text_like = args.format == "text" or (args.statistics and args.format != "json")
    report = Report(shown, result.files_checked, fixed, result.seconds, __version__,
                    color=text_like and out is sys.stdout and _use_color(), rules=list(all_rules()),
                    quiet=args.quiet, fixes=fixes if text_like and not args.statistics else [])
    if args.statistics:
        text = statistics.render(report, "json" if args.format == "json" else "text")
    else:
        text = render(args.format, report)
    if text:
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()
    if fixes and not text_like and not args.quiet:  # machine formats stay parseable: the list goes to stderr
        sys.stderr.write("\n".join(_fix_lines(fixes)) + "\n")
    if fixes and args.statistics and args.format != "json" and not args.quiet:
        out.write("\n".join(_fix_lines(fixes)) + "\n")


def _fix_counts(applied: list[Diagnostic], root: str, cwd: str) -> list[tuple[str, str, int]]:
    counts: dict[tuple[str, str], int] = {}
    for d in applied:
        path = os.path.relpath(os.path.join(root, d.path), cwd).replace(os.sep, "/")
        counts[(path, d.code)] = counts.get((path, d.code), 0) + 1
    return [(path, code, n) for (path, code), n in sorted(counts.items())]


def _fix_lines(fixes: list[tuple[str, str, int]]) -> list[str]:
    from celerylint.output.text import fixes_block

    return fixes_block(Report([], 0, rules=list(all_rules()), fixes=fixes))


def _load_baseline(option: str | None, settings, root: str):
    """`--baseline FILE` (relative to the current directory), else the `baseline` key."""
    from celerylint.baseline import Baseline
    from celerylint.config import baseline_path

    path = os.path.abspath(option) if option else baseline_path(settings, root)
    return Baseline.load(path) if path else None


def _add_noqa(result, args: argparse.Namespace) -> int:
    """`--add-noqa`: `# noqa: CODE` on the line of every finding left (not SUP001, whose
    findings are about suppressions), merged with a directive already there."""
    from celerylint.fixes.noqa import add_noqa

    by_file: dict[str, dict[int, set[str]]] = {}
    for d in result.diagnostics:
        if d.code != "SUP001":
            by_file.setdefault(d.path, {}).setdefault(d.line, set()).add(d.code)
    added = files = 0
    problems = []
    cwd = os.getcwd()
    for rel, lines in sorted(by_file.items()):
        path = os.path.join(result.root, rel)
        shown = os.path.relpath(path, cwd).replace(os.sep, "/")
        if not rel.endswith(".py"):
            problems += [f"{shown}:{line}: not a Python file; no noqa directive added" for line in sorted(lines)]
            continue
        with open(path, "rb") as fh:
            old = fh.read()
        unparsable = any(d.code == "SYN001" for d in result.diagnostics if d.path == rel)
        new, skipped = add_noqa(old, lines, lenient=unparsable)
        problems += [f"{shown}:{line}: the line ends inside a string or continues with a backslash; "
                     "no noqa directive added" for line in skipped]
        if new != old:
            with open(path, "wb") as fh:
                fh.write(new)
            added += len(lines) - len(skipped)
            files += 1
    if not args.silent:
        for problem in problems:
            print(f"celerylint: warning: {problem}", file=sys.stderr)
        if not args.quiet:
            print(f"Added {added} noqa directive{'' if added == 1 else 's'} to {files} file{'' if files == 1 else 's'}.",
                  file=sys.stderr)
    return EXIT_OK  # as ruff's --add-noqa; what could not be added is reported above


def _write_baseline(result, args: argparse.Namespace) -> int:
    """`--write-baseline FILE`: the findings of this run (noqa and per-file-ignores applied,
    no baseline; SUP001 left out), as a baseline file."""
    from celerylint.baseline import write

    kept = [d for d in result.diagnostics if d.code != "SUP001"]
    entries = write(args.write_baseline, kept)
    if not (args.silent or args.quiet):
        print(f"Wrote {len(kept)} finding{'' if len(kept) == 1 else 's'} ({entries} "
              f"entr{'y' if entries == 1 else 'ies'}) to {args.write_baseline}.", file=sys.stderr)
    return EXIT_OK


def _server(args: argparse.Namespace) -> int:
    from celerylint.server import serve

    return serve(config=args.config)


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


def _tenancy(args: argparse.Namespace) -> int:
    """`celerylint tenancy`: the tenant analysis's conclusions about the project."""
    from celerylint.engine import UsageError, check
    from celerylint.project.tenancy import report

    start = args.path or os.getcwd()
    if not os.path.exists(start):
        raise _Usage(f"{start}: no such file or directory")
    root = find_project_root(start)
    settings = load_settings(root, args.config)
    try:
        result = check([], settings, root, use_cache=not args.no_cache, select=("TEN", "BEAT006"))
    except UsageError as exc:
        raise _Usage(str(exc)) from None
    data = report(result.project.tenancy, result.project.tasks)
    if args.format == "json":
        print(json.dumps(data, indent=2))
        return EXIT_OK
    print(f"tenancy mode: {data['mode']}" + ("" if data["active"] else " (no tenant-scoped model found: the "
                                                                     "tenant rules have nothing to check)"))
    print("mechanisms:" if data["mechanisms"] else "mechanisms: none app-wide (tasks restore their own context)")
    for m in data["mechanisms"]:
        print(f"  {m['kind']} at {m['where']}: {m['why']}")
    print(f"tenant travels as: {', '.join(data['tenant_travels_as'])}"
          + (" (and is captured from the publisher's context)" if data["captures_on_publish"] else ""))
    print(f"tenant models: {', '.join(data['tenant_models'])}")
    print(f"tenant-scoped models ({len(data['tenant_scoped_models'])}):")
    for m in data["tenant_scoped_models"]:
        print(f"  {m['model']} ({m['path']}): {m['why']}")
    for key, name in (("setters", "function"), ("context_managers", "manager")):
        print(f"{key.replace('_', ' ')}:" if data[key] else f"{key.replace('_', ' ')}: none found in the project")
        for item in data[key]:
            print(f"  {item[name]}: {item['why']}")
    print(f"tasks ({len(data['tasks'])}):")
    for t in data["tasks"]:
        state = ("tenant-scoped, " + t["context"]) if t["scoped"] else "not tenant-scoped"
        print(f"  {t['path']}:{t['line']} {t['task']}: {state} ({t['why']})")
    return EXIT_OK


def _explain(code: str) -> int:
    rule = rule_by_code(code)
    if rule is None:
        raise _Usage(f"unknown rule code {code!r} (see `celerylint rules`)")
    print(rule.documentation(), end="")
    return EXIT_OK
