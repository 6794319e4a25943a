"""`celerylint server`: a language server (LSP over stdio, built on pygls) on the same
engine as `celerylint check`.

- **Diagnostics** when a Python file is opened or saved, and while it is edited (after a
  pause of `DEBOUNCE` seconds). Each run checks the whole project of the file (the
  nearest directory upward holding `pyproject.toml`, `setup.cfg`, `manage.py` or `.git`,
  as the command line finds it) with the facts cache, and reports the findings of every
  open file of that project: removing a task in one file updates the beat entry that
  names it in another. Unsaved buffers replace their files on disk (the engine's
  `overlay`); the project's configuration applies, its `baseline` too.
- **Code actions** for the findings under the cursor: the rule's fix, titled with its
  safety ("(safe)" or "(unsafe)"), as a workspace edit computed with the same
  `celerylint.fixes.apply.apply_edits` that `check --fix` uses, on the buffer's content
  (other files the fix touches: their buffers or their files on disk); and "suppress
  with `# noqa: CODE`". No action is offered while the findings are older than the buffer.
- **Hover** on a finding shows its rule's documentation (`celerylint explain CODE`).

Positions are converted between celerylint's (1-based lines, code-point columns) and the
client's position encoding (UTF-16 by default).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from celerylint import __version__
from celerylint.diagnostics import SAFE, Diagnostic

DEBOUNCE = 0.3  # seconds of quiet after an edit before checking
SOURCE = "celerylint"
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")

log = logging.getLogger(__name__)


def split_lines(text: str) -> list[str]:
    """The lines as Python and the LSP count them (\\n, \\r\\n, \\r), with their endings."""
    return _LINES.findall(text)


@dataclass
class Checked:
    """The findings of one open document, as of one version of it."""

    version: int | None
    root: str
    rel: str
    text: str
    diagnostics: list = field(default_factory=list)  # celerylint Diagnostic, root-relative paths


def build_server(config: str | None = None):
    from lsprotocol import types
    from pygls.lsp.server import LanguageServer
    from pygls.uris import from_fs_path, to_fs_path
    from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange

    from celerylint.baseline import Baseline, BaselineError
    from celerylint.config import ConfigError, baseline_path, load_settings
    from celerylint.engine import UsageError, check
    from celerylint.engine.discover import find_project_root
    from celerylint.fixes.apply import apply_edits
    from celerylint.fixes.noqa import add_noqa
    from celerylint.output import end_of
    from celerylint.rules import rule_by_code

    class CeleryLintServer(LanguageServer):
        def __init__(self):
            super().__init__("celerylint", __version__)
            self.checked: dict[str, Checked] = {}  # uri -> the latest findings
            self.pending: dict[str, asyncio.Task] = {}  # project root -> the scheduled check
            self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="celerylint-check")
            self.lock: asyncio.Lock | None = None
            self.reported_errors: set[str] = set()

        # -- documents
        def python_path(self, uri: str) -> str | None:
            if not uri.startswith("file:"):
                return None
            path = to_fs_path(uri)
            return os.path.normpath(path) if path and path.endswith(".py") else None

        def schedule(self, uri: str, delay: float) -> None:
            path = self.python_path(uri)
            if path is None:
                return
            root = find_project_root(path)
            previous = self.pending.pop(root, None)
            if previous is not None and not previous.done():
                previous.cancel()
            self.pending[root] = asyncio.ensure_future(self.check_later(root, delay))

        async def check_later(self, root: str, delay: float) -> None:
            await asyncio.sleep(delay)
            if self.lock is None:
                self.lock = asyncio.Lock()
            async with self.lock:
                documents = {}
                for uri, document in list(self.workspace.text_documents.items()):
                    path = self.python_path(uri)
                    if path is not None and find_project_root(path) == root and os.path.isfile(path):
                        documents[uri] = (path, document.version, document.source)
                if not documents:
                    return
                loop = asyncio.get_running_loop()
                try:
                    outcome = await loop.run_in_executor(self.executor, self.run_check, root, documents)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # never take the editor down with us
                    log.exception("celerylint check failed")
                    self.window_log_message(types.LogMessageParams(types.MessageType.Error,
                                                                   f"celerylint: {type(exc).__name__}: {exc}"))
                    return
            if isinstance(outcome, str):
                if outcome not in self.reported_errors:
                    self.reported_errors.add(outcome)
                    self.window_show_message(types.ShowMessageParams(types.MessageType.Error, outcome))
                return
            self.reported_errors.clear()
            for uri, checked in outcome.items():
                current = self.workspace.text_documents.get(uri)
                if current is None:
                    continue
                self.checked[uri] = checked
                self.publish(uri, checked)

        def run_check(self, root: str, documents: dict) -> dict[str, Checked] | str:
            """In the worker thread: one engine run for the open files of the project."""
            try:
                settings = load_settings(root, config)
                bl_path = baseline_path(settings, root)
                baseline = Baseline.load(bl_path) if bl_path else None
            except (ConfigError, BaselineError) as exc:
                return f"celerylint: {exc}"
            overlay = {}
            for path, _, text in documents.values():
                data = text.encode("utf-8")
                try:
                    with open(path, "rb") as fh:
                        on_disk = fh.read()
                except OSError:
                    on_disk = None
                if on_disk != data:
                    overlay[path] = data
            try:
                result = check([path for path, _, _ in documents.values()], settings, root, overlay=overlay or None,
                               baseline=baseline)
            except UsageError as exc:
                return f"celerylint: {exc}"
            by_rel: dict[str, list[Diagnostic]] = {}
            for d in result.diagnostics:
                by_rel.setdefault(d.path, []).append(d)
            outcome = {}
            for uri, (path, version, text) in documents.items():
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                outcome[uri] = Checked(version, root, rel, text, by_rel.get(rel, []))
            return outcome

        # -- conversions
        def client_range(self, lines: list[str], d: Diagnostic):
            end_line, end_column = end_of(d)
            start = ServerTextPosition(d.line - 1, d.column - 1)
            end = ServerTextPosition(end_line - 1, end_column - 1)
            return self.workspace.position_codec.range_to_client_units(lines, ServerTextRange(start, end))

        def lsp_diagnostic(self, lines: list[str], d: Diagnostic):
            rule = rule_by_code(d.code)
            return types.Diagnostic(
                range=self.client_range(lines, d),
                message=d.message,
                severity=types.DiagnosticSeverity.Warning if d.severity == "warning" else types.DiagnosticSeverity.Error,
                code=d.code,
                source=SOURCE,
                tags=[types.DiagnosticTag.Unnecessary] if d.code == "SUP001" else None,
                data={"fixable": d.fixable, "safety": d.fix.safety if d.fix else None,
                      "summary": rule.summary if rule else None},
            )

        def publish(self, uri: str, checked: Checked) -> None:
            lines = split_lines(checked.text)
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=uri, version=checked.version,
                diagnostics=[self.lsp_diagnostic(lines, d) for d in checked.diagnostics]))

        def findings_at(self, uri: str, client_range) -> tuple[Checked | None, list[Diagnostic]]:
            """The findings whose range touches `client_range`, if they are current."""
            checked = self.checked.get(uri)
            document = self.workspace.text_documents.get(uri)
            if checked is None or document is None or document.version != checked.version:
                return None, []
            lines = split_lines(checked.text)
            wanted = self.workspace.position_codec.range_from_client_units(lines, client_range)
            low = (wanted.start.line, wanted.start.character)
            high = (wanted.end.line, wanted.end.character)
            found = []
            for d in checked.diagnostics:
                end_line, end_column = end_of(d)
                start, end = (d.line - 1, d.column - 1), (end_line - 1, end_column - 1)
                if start <= high and low <= end:
                    found.append(d)
            return checked, found

        def contents(self, root: str, rel: str, checked: Checked) -> str | None:
            if rel == checked.rel:
                return checked.text
            path = os.path.join(root, rel)
            for uri, document in self.workspace.text_documents.items():
                if self.python_path(uri) == os.path.normpath(path):
                    return document.source
            try:
                with open(path, "rb") as fh:
                    return fh.read().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                return None

        def text_edit(self, old: str, new: str):
            """One TextEdit replacing the lines that differ (the cursor stays put elsewhere)."""
            a, b = split_lines(old), split_lines(new)
            prefix = 0
            while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
                prefix += 1
            suffix = 0
            while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
                suffix += 1
            codec = self.workspace.position_codec
            end_index = len(a) - suffix
            if end_index == len(a) and a and not a[-1].endswith(("\n", "\r")):
                end = types.Position(line=len(a) - 1, character=codec.client_num_units(a[-1]))
            else:
                end = types.Position(line=end_index, character=0)
            return types.TextEdit(range=types.Range(start=types.Position(line=prefix, character=0), end=end),
                                  new_text="".join(b[prefix:len(b) - suffix]))

        def fix_action(self, uri: str, checked: Checked, d: Diagnostic, lsp_diagnostic):
            edits_by_rel: dict[str, list] = {}
            for edit in d.fix.edits:
                edits_by_rel.setdefault(edit.rel, []).append(edit)
            changes = {}
            for rel, edits in edits_by_rel.items():
                old = self.contents(checked.root, rel, checked)
                if old is None:
                    return None
                new = apply_edits(old, edits)
                if new is None:
                    return None
                if new != old:
                    target = uri if rel == checked.rel else from_fs_path(os.path.join(checked.root, rel))
                    changes[target] = [self.text_edit(old, new)]
            if not changes:
                return None
            safety = d.fix.safety
            rule = rule_by_code(d.code)
            what = f": {rule.summary}" if rule else ""
            return types.CodeAction(title=f"Fix {d.code} ({safety}){what}", kind=types.CodeActionKind.QuickFix,
                                    diagnostics=[lsp_diagnostic], is_preferred=safety == SAFE,
                                    edit=types.WorkspaceEdit(changes=changes))

        def noqa_action(self, uri: str, checked: Checked, d: Diagnostic, lsp_diagnostic):
            if d.code == "SUP001":
                return None
            old = checked.text.encode("utf-8")
            new, skipped = add_noqa(old, {d.line: {d.code}})
            if skipped or new == old:
                return None
            return types.CodeAction(title=f"Suppress {d.code} with # noqa: {d.code}",
                                    kind=types.CodeActionKind.QuickFix, diagnostics=[lsp_diagnostic],
                                    edit=types.WorkspaceEdit(changes={
                                        uri: [self.text_edit(checked.text, new.decode("utf-8"))]}))

    server = CeleryLintServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: CeleryLintServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: CeleryLintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, DEBOUNCE)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: CeleryLintServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: CeleryLintServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.checked.pop(uri, None)
        if ls.python_path(uri) is not None:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
            ls.schedule(uri, 0)  # its buffer no longer replaces the file: the others' findings may change

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def code_action(ls: CeleryLintServer, params: types.CodeActionParams):
        uri = params.text_document.uri
        checked, found = ls.findings_at(uri, params.range)
        if checked is None:
            return []
        lines = split_lines(checked.text)
        actions = []
        for d in found:
            lsp_diagnostic = ls.lsp_diagnostic(lines, d)
            if d.fix is not None:
                action = ls.fix_action(uri, checked, d, lsp_diagnostic)
                if action is not None:
                    actions.append(action)
        for d in found:
            action = ls.noqa_action(uri, checked, d, ls.lsp_diagnostic(lines, d))
            if action is not None:
                actions.append(action)
        return actions

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: CeleryLintServer, params: types.HoverParams):
        position = params.position
        checked, found = ls.findings_at(params.text_document.uri, types.Range(start=position, end=position))
        docs = []
        for code in dict.fromkeys(d.code for d in found):
            rule = rule_by_code(code)
            if rule is not None:
                docs.append(rule.documentation())
        if not docs:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                        value="\n---\n\n".join(docs)))

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: CeleryLintServer, params) -> None:
        for task in ls.pending.values():
            task.cancel()
        ls.executor.shutdown(wait=False, cancel_futures=True)

    return server


def serve(config: str | None = None) -> int:
    """Run the language server on stdin/stdout until the client exits."""
    try:
        server = build_server(config)
    except ImportError as exc:  # pragma: no cover - pygls is a dependency
        import sys

        print(f"celerylint: error: the language server needs pygls ({exc}); pip install pygls", file=sys.stderr)
        return 2
    server.start_io()
    return 0
