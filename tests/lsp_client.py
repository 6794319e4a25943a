"""A minimal LSP client for the tests: JSON-RPC 2.0 with Content-Length framing over a
subprocess's stdio, as an editor speaks it."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time


class LspClient:
    def __init__(self, command: list[str], cwd, env=None):
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=cwd, env=env)
        self.messages: queue.Queue = queue.Queue()
        self.notifications: list[dict] = []
        self.next_id = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        stream = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.decode("ascii").strip()
                if not line:
                    break
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self.messages.put(json.loads(body))

    def send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict | None = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params or {}})

    def request(self, method: str, params: dict | None = None, timeout: float = 60):
        self.next_id += 1
        ident = self.next_id
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params or {}})
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline, f"the answer to {method}")
            if message.get("id") == ident and "method" not in message:
                if "error" in message:
                    raise AssertionError(f"{method} failed: {message['error']}")
                return message.get("result")
            self._other(message)

    def wait_for(self, method: str, predicate=lambda params: True, timeout: float = 60) -> dict:
        """The params of the first notification `method` (already received or next) that satisfies `predicate`."""
        for i, note in enumerate(self.notifications):
            if note["method"] == method and predicate(note["params"]):
                del self.notifications[i]
                return note["params"]
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline, method)
            if message.get("method") == method and "id" not in message and predicate(message["params"]):
                return message["params"]
            self._other(message)

    def _other(self, message: dict) -> None:
        if "method" in message and "id" in message:  # a request from the server: answer it
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
        elif "method" in message:
            self.notifications.append(message)

    def _next(self, deadline: float, waiting_for: str) -> dict:
        left = deadline - time.monotonic()
        try:
            message = self.messages.get(timeout=max(left, 0.01))
        except queue.Empty:
            raise AssertionError(f"timed out waiting for {waiting_for}") from None
        if message is None:
            raise AssertionError(f"the server exited while waiting for {waiting_for}: {self.proc.wait()} "
                                 f"{self.proc.stderr.read().decode(errors='replace')}")
        return message

    def close(self, timeout: float = 30) -> int:
        try:
            self.request("shutdown", timeout=timeout)
            self.notify("exit")
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
