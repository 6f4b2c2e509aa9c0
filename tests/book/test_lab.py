"""A reader opens a chapter in JupyterLab and runs it: the second way the book is used.

``make lab`` starts JupyterLab on ``notebooks/``. This test does what the reader's browser
does, through the server's own interfaces: it starts JupyterLab headless on a free local
port with a token, asks its contents API for ``notebooks/00_testbed.py`` as a notebook
(Jupytext's contents manager turns the percent-format source into one), opens a session on
it, which starts a kernel in the chapter's folder, and runs the chapter's code cells on that
kernel over the kernel's websocket, the channel JupyterLab's notebook panel uses, in the
``smoke`` profile: after the ``parameters`` cell it runs one more cell that sets the smoke
parameters, as papermill's injected cell would. Every cell must finish without an error and
the chapter must report that it ran in the smoke profile.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import websocket

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "notebooks/00_testbed.py"
SMOKE = 'profile, device, seed = "smoke", "cpu", 0'

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Lab:
    """A headless JupyterLab server on 127.0.0.1 and the HTTP calls a browser makes to it."""

    def __init__(self, root: Path, log: Path):
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
             f"--port={self.port}", "--ServerApp.port_retries=0", "--allow-root",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}"],
            stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "DEEPOPTIM_PROGRESS": "0"})
        deadline = time.monotonic() + 120
        while True:
            try:
                self.get("/api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"JupyterLab did not start; its log is {log}") from None
                time.sleep(0.5)

    def request(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}",
                                                     "Content-Type": "application/json"},
            data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
            kind = response.headers.get("Content-Type", "")
            return json.loads(text) if text and "json" in kind else text

    def get(self, path: str):
        return self.request("GET", path)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = Lab(ROOT, tmp_path_factory.mktemp("lab") / "jupyterlab.log")
    yield server
    server.close()


def execute(channel: websocket.WebSocket, session: str, code: str) -> tuple[dict, list[dict]]:
    """Run ``code`` on the kernel; its ``execute_reply`` content and its iopub messages."""
    header = {"msg_id": uuid.uuid4().hex, "session": session, "username": "reader",
              "msg_type": "execute_request", "version": "5.3",
              "date": datetime.now(timezone.utc).isoformat()}
    channel.send(json.dumps({
        "header": header, "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }))
    reply, outputs, idle = None, [], False
    while reply is None or not idle:
        message = json.loads(channel.recv())
        if message.get("parent_header", {}).get("msg_id") != header["msg_id"]:
            continue
        kind = message["msg_type"]
        if kind == "execute_reply":
            reply = message["content"]
        elif kind == "status":
            idle = message["content"]["execution_state"] == "idle"
        elif kind in ("stream", "display_data", "execute_result", "error"):
            outputs.append(message)
    return reply, outputs


def test_lab_serves_the_page_and_jupytexts_extension(lab):
    assert "<html" in lab.get("/lab").lower()
    extensions = {e["name"] for e in lab.get("/lab/api/extensions")}
    assert "jupyterlab-jupytext" in extensions, extensions


def test_a_chapter_opens_as_a_notebook_and_runs_in_the_smoke_profile(lab):
    model = lab.get(f"/api/contents/{CHAPTER}?type=notebook&content=1")
    assert model["type"] == "notebook" and model["format"] == "json"
    cells = model["content"]["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    parameters = [i for i, c in enumerate(code) if "parameters" in c["metadata"].get("tags", [])]
    assert len(parameters) == 1 and len(code) > 3
    assert any(c["cell_type"] == "markdown" for c in cells)

    session = lab.request("POST", "/api/sessions", {
        "path": CHAPTER, "name": Path(CHAPTER).name, "type": "notebook",
        "kernel": {"name": "python3"}})
    kernel = session["kernel"]["id"]
    channel = websocket.create_connection(
        f"ws://127.0.0.1:{lab.port}/api/kernels/{kernel}/channels?token={lab.token}",
        timeout=900, suppress_origin=True)
    try:
        sources = [c["source"] for c in code]
        sources.insert(parameters[0] + 1, SMOKE)
        printed = []
        for index, source in enumerate(sources):
            reply, outputs = execute(channel, session["id"], source)
            errors = [o["content"] for o in outputs if o["msg_type"] == "error"]
            assert reply["status"] == "ok" and not errors, (index, source[:200], errors, reply)
            printed += [o["content"]["text"] for o in outputs if o["msg_type"] == "stream"]
            printed += [o["content"]["data"].get("text/plain", "") for o in outputs
                        if o["msg_type"] == "execute_result"]
    finally:
        channel.close()
        lab.request("DELETE", f"/api/sessions/{session['id']}")
    assert any("profile=smoke" in text for text in printed), printed[:5]
