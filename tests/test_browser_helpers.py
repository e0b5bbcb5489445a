"""The browser tests' plumbing (tests/browser.py), without a browser: skip or fail, and the
JupyterLab server always stopped."""
from __future__ import annotations

import os
import urllib.request

import pytest
from _pytest.outcomes import Failed, Skipped

import browser


def test_missing_browser_skips_locally_and_fails_in_ci(monkeypatch):
    monkeypatch.delenv(browser.REQUIRE_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Skipped, match="apt-get install -y chromium"):
        browser.unavailable("no Chromium found")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed, match="skipped browser test is a failure"):
        browser.unavailable("no Chromium found")
    monkeypatch.delenv("CI")
    monkeypatch.setenv(browser.REQUIRE_ENV, "1")
    with pytest.raises(Failed):
        browser.unavailable("no Chromium found")


def test_chromium_path_follows_the_environment(monkeypatch, tmp_path):
    fake = tmp_path / "my-chromium"
    fake.write_text("")
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(fake))
    assert browser.chromium_path() == str(fake)
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(tmp_path / "absent"))
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on the PATH either
    monkeypatch.delenv(browser.REQUIRE_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Skipped, match="no Chromium found"):
        browser.chromium_path()


@pytest.mark.slow
def test_jupyterlab_is_stopped_even_when_the_test_fails(tmp_path):
    with pytest.raises(RuntimeError, match="a failing test"):
        with browser.jupyterlab(tmp_path) as lab:
            with urllib.request.urlopen(lab.url("api/status"), timeout=10) as answer:
                assert answer.status == 200
            with pytest.raises(OSError):  # the token is required
                urllib.request.urlopen(f"http://127.0.0.1:{lab.port}/api/contents", timeout=10)
            pid = int((tmp_path / ".jupyter" / "runtime").glob("jpserver-*.json").__next__().stem.split("-")[1])
            raise RuntimeError("a failing test")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the server process is gone (signal 0: only checks it exists)
    with pytest.raises(OSError):
        urllib.request.urlopen(lab.url("api/status"), timeout=2)
