"""The one list of system packages: what make run / make test install, .ci/run requires and the
Dockerfile installs, and what happens on a machine that lacks them."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qms_portal import system_packages
from qms_portal.env import BASE_DIR
from qms_portal.system_packages import Package


def test_the_list_names_what_weasyprint_and_the_browser_tests_need():
    by_name = {package.name: package.group for package in system_packages.load()}
    assert by_name == {
        "libpango-1.0-0": "runtime",
        "libpangoft2-1.0-0": "runtime",
        "libharfbuzz-subset0": "runtime",
        "fonts-dejavu-core": "runtime",
        "chromium": "test",
    }
    assert [package.name for package in system_packages.load(["test"])] == ["chromium"]


def assert_installs_the_runtime_group(text: str, where: str) -> None:
    """The `$(awk … system-packages.txt)` expression in `text`, run on the list as it is, names
    exactly the runtime group (the Dockerfile and the README's install step use one)."""
    command = re.search(r"\$\((awk [^)]*system-packages\.txt)\)", text)
    assert command, f"{where} no longer reads system-packages.txt"
    installed = subprocess.run(
        ["sh", "-c", command.group(1)], cwd=BASE_DIR, capture_output=True, text=True, check=True
    ).stdout.split()
    assert installed == [package.name for package in system_packages.load(["runtime"])]


def test_the_dockerfile_installs_exactly_the_runtime_group_of_the_same_list():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert "COPY system-packages.txt ." in dockerfile
    assert_installs_the_runtime_group(dockerfile, "the Dockerfile")


def test_ci_requires_both_groups_from_the_same_list():
    ci = (BASE_DIR / ".ci" / "run").read_text()
    assert "-m qms_portal.system_packages --require runtime test" in ci
    assert "apt-get install" not in ci, "a second list of packages in .ci/run"


@pytest.mark.parametrize(
    ("probe", "present"),
    [
        ("lib:c", True),
        ("lib:no-such-library-qms", False),
        ("bin:sh", True),
        ("bin:no-such-command-qms", False),
        (f"file:{BASE_DIR / 'manage.py'}", True),
        ("file:/no/such/file", False),
    ],
)
def test_probes_tell_present_from_missing(probe, present):
    assert Package("x", "runtime", probe).present() is present


def test_a_malformed_line_is_an_error_naming_it(tmp_path):
    listing = tmp_path / "system-packages.txt"
    listing.write_text("# comment\nchromium test\n")
    with pytest.raises(ValueError, match=r"system-packages.txt:2: expected 'package group probe'"):
        system_packages.load(path=listing)


@pytest.fixture
def missing_list(tmp_path, monkeypatch) -> Path:
    listing = tmp_path / "system-packages.txt"
    listing.write_text(
        textwrap.dedent("""\
            present-pkg      runtime  bin:sh
            absent-lib       runtime  lib:no-such-library-qms
            absent-browser   test     file:/no/such/browser
        """)
    )
    monkeypatch.setattr(system_packages, "PACKAGE_LIST", listing)
    return listing


def test_without_install_rights_it_says_what_is_missing_and_how_to_install_it(missing_list):
    out = io.StringIO()
    missing = system_packages.ensure(["runtime", "test"], install=False, out=out)
    assert [package.name for package in missing] == ["absent-lib", "absent-browser"]
    assert "Missing system packages (system-packages.txt): absent-lib, absent-browser." in out.getvalue()
    assert "sudo apt-get install -y absent-lib absent-browser" in out.getvalue()


def test_as_root_it_installs_the_missing_ones_with_apt_get(missing_list, tmp_path, monkeypatch):
    # A stand-in apt-get on PATH that records its calls: the suite cannot uninstall real packages
    # to prove that a real install happens (CI does that on a fresh machine).
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "apt-get"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    monkeypatch.setattr(system_packages.os, "geteuid", lambda: 0)
    out = io.StringIO()
    still_missing = system_packages.ensure(["runtime"], install=True, out=out)
    assert calls.read_text().splitlines() == ["update -qq", "install -y -qq absent-lib"]
    # The stand-in installed nothing, so the package is reported as still missing, with the remedy.
    assert [package.name for package in still_missing] == ["absent-lib"]
    assert "Installing system packages from system-packages.txt: absent-lib" in out.getvalue()
    assert "sudo apt-get install -y absent-lib" in out.getvalue()


def test_check_mode_from_the_environment_never_runs_apt_get(missing_list, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "apt-get"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\ntouch {tmp_path / 'ran'}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    monkeypatch.setenv("QMS_SYSTEM_PACKAGES", "check")
    monkeypatch.setattr(system_packages.os, "geteuid", lambda: 0)
    assert system_packages.ensure(["runtime"], out=io.StringIO())
    assert not (tmp_path / "ran").exists()


def test_the_command_fails_with_require_only():
    # On this machine the real list: what is missing depends on the machine, so compare the two modes.
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "qms_portal.system_packages", "--check", *args],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )

    lenient, strict = run("runtime", "test"), run("--require", "runtime", "test")
    assert lenient.returncode == 0
    everything_present = all(package.present() for package in system_packages.load())
    assert strict.returncode == (0 if everything_present else 1)
    assert run("nonsense").returncode == 2
