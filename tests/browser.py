"""What the browser tests need: Debian's Chromium driven by Playwright, and a throwaway JupyterLab.

Playwright's own browser download is not used (and not reachable from the course machines):
Playwright launches the system's ``chromium`` (``apt-get install chromium``), found on the PATH
or named by ``$LATEINT_CHROMIUM``. Where it or Playwright is missing the tests are skipped with
the reason, unless ``$LATEINT_REQUIRE_BROWSER`` is set (``.ci/run`` sets it) or ``$CI`` is
``true``: then they fail, so CI cannot pass with the browser tests silently skipped.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE_ENV = "LATEINT_REQUIRE_BROWSER"
CHROMIUM_ENV = "LATEINT_CHROMIUM"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots (git-ignored)


def unavailable(reason: str) -> None:
    """Skip the test, or fail it where the browser tests are required (CI)."""
    message = f"{reason}; the browser tests need Debian's chromium (apt-get install -y chromium) and playwright (pip install -e '.[test]')"
    if os.environ.get(REQUIRE_ENV) or os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}. In CI (${REQUIRE_ENV} or CI=true) a skipped browser test is a failure.", pytrace=False)
    pytest.skip(message)


def chromium_path() -> str:
    """The system Chromium: ``$LATEINT_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on the PATH."""
    named = os.environ.get(CHROMIUM_ENV)
    found = named if named and Path(named).exists() else shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        unavailable(f"no Chromium found (${CHROMIUM_ENV} unset or missing, and no chromium on the PATH)")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab: open ``url(path)`` in the browser."""

    port: int
    token: str
    log: Path
    root: Path  # the folder it serves

    def url(self, path: str = "lab") -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"


@contextmanager
def jupyterlab(root: Path, extra_env: dict[str, str] | None = None, timeout: float = 90) -> Iterator[Lab]:
    """Start JupyterLab on 127.0.0.1 (random free port, random token) serving ``root``; always stop it.

    It runs in its own process group with its own config, data and settings folders under
    ``root/.jupyter``, so nothing of the user's JupyterLab set-up is read or changed, except the
    environment's own settings (``<venv>/share/jupyter/lab/settings/overrides.json``, which
    ``make install`` puts there). On exit (also when a test fails) the whole group, kernels
    included, gets SIGTERM, then SIGKILL if it has not stopped within 10 s.
    """
    home = root / ".jupyter"
    for sub in ("config", "data", "runtime", "user-settings", "workspaces"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, **(extra_env or {}), "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={home / 'user-settings'}",
               f"--LabApp.workspaces_dir={home / 'workspaces'}", "--LabApp.news_url=", "--ServerApp.open_browser=False"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = root / "jupyterlab.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        lab = Lab(port, token, log, root)
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(lab.url("api/status"), timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield lab
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM the process's whole group (it leads one), then SIGKILL what is left after ``grace`` s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # kernels started by the server are in the same group
    except ProcessLookupError:
        pass
    process.wait()


@contextmanager
def chromium() -> Iterator:
    """Headless Debian Chromium (a Playwright ``Browser``), closed on exit; the ``browser`` fixture (conftest.py)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed")
    executable = chromium_path()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                                   "--disable-dev-shm-usage", "--disable-background-networking",
                                                                   "--disable-component-update", "--disable-sync"])
        try:
            yield b
        finally:
            b.close()


class PageProblems:
    """Console errors, uncaught exceptions and failed requests of one page.

    Requests outside ``allowed`` (URL prefixes; ``file:``, ``data:`` and ``blob:`` always pass) are
    blocked. For the deck each one is a problem (it must work offline); in JupyterLab they are the
    lessons' Colab and Binder badges, blocked and listed in ``outside`` but not counted.
    """

    def __init__(self, page, allowed: tuple[str, ...] = (), outside_is_error: bool = True) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []

        def console(m) -> None:
            if m.type == "error" and m.location.get("url") not in self.outside:
                self.errors.append(f"console: {m.text} ({m.location.get('url')})")

        def failed(r) -> None:
            # ERR_ABORTED: a request the page itself cancelled, e.g. in flight when it reloads
            if r.url not in self.outside and "ERR_ABORTED" not in (r.failure or ""):
                self.errors.append(f"failed request: {r.url} ({r.failure})")

        def only_local(route) -> None:
            url = route.request.url
            if url.startswith(("file:", "data:", "blob:", *allowed)):
                route.continue_()
                return
            self.outside.append(url)
            if outside_is_error:
                self.errors.append(f"request outside the page's own files: {url}")
            route.abort()

        page.on("console", console)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", failed)
        page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"))
        page.route("**/*", only_local)
