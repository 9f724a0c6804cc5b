"""The Debian packages the portal needs from the system, read from system-packages.txt.

    python -m qms_portal.system_packages [--check] [--require] GROUP [GROUP ...]

`make run` asks for the runtime group, `make test` for runtime and test, `.ci/run` for both with
--require, and the Dockerfile installs the runtime group from the same file. What is missing is
installed with apt-get where that can work (root on a Debian-like machine); elsewhere, or when
apt-get fails, the exact command to run is printed and start-up goes on: the suite then skips
what needs the missing parts and says why (QMS_REQUIRE_BROWSER=1 makes a missing browser fatal).

QMS_SYSTEM_PACKAGES=check (or --check) only reports, for machines whose packages are managed
by someone else.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from qms_portal.env import BASE_DIR

PACKAGE_LIST = BASE_DIR / "system-packages.txt"
GROUPS = ("runtime", "test")


@dataclass(frozen=True)
class Package:
    name: str
    group: str
    probe: str  # lib:<name> (a shared library ldconfig knows), file:<path> or bin:<command>

    def present(self) -> bool:
        kind, _, target = self.probe.partition(":")
        if kind == "lib":
            return ctypes.util.find_library(target) is not None
        if kind == "file":
            return Path(target).exists()
        if kind == "bin":
            return shutil.which(target) is not None
        raise ValueError(f"{PACKAGE_LIST.name}: unknown probe {self.probe!r} for {self.name}")


def load(groups: tuple[str, ...] | list[str] = GROUPS, path: Path | None = None) -> list[Package]:
    path = path or PACKAGE_LIST
    packages = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 3 or fields[1] not in GROUPS:
            raise ValueError(f"{path.name}:{number}: expected 'package group probe', got {line!r}")
        package = Package(*fields)
        if package.group in groups:
            packages.append(package)
    return packages


def install_command(packages: list[Package]) -> str:
    return "apt-get install -y " + " ".join(package.name for package in packages)


def _can_install() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _apt_get(*args: str, out: TextIO) -> bool:
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(  # noqa: S603 - apt-get with package names from our own list
        ["apt-get", *args],  # noqa: S607 - the system's apt-get, wherever PATH has it
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        print(f"apt-get {args[0]} failed ({result.returncode}): {result.stderr.strip()[-600:]}", file=out)
    return result.returncode == 0


def ensure(groups: list[str], *, install: bool | None = None, out: TextIO = sys.stderr) -> list[Package]:
    """Install the missing packages of `groups` where possible; return those still missing,
    having said which they are and how to install them."""
    if install is None:
        install = os.environ.get("QMS_SYSTEM_PACKAGES") != "check"
    missing = [package for package in load(groups) if not package.present()]
    if not missing:
        return []
    names = ", ".join(package.name for package in missing)
    if install and _can_install():
        print(f"Installing system packages from {PACKAGE_LIST.name}: {names}", file=out, flush=True)
        # The package lists of a fresh machine are empty or stale; update once, only when needed.
        if _apt_get("update", "-qq", out=out):
            _apt_get("install", "-y", "-qq", *(package.name for package in missing), out=out)
        missing = [package for package in missing if not package.present()]
        if not missing:
            return []
    print(
        f"Missing system packages ({PACKAGE_LIST.name}): {', '.join(p.name for p in missing)}.\n"
        f"Install them with: sudo {install_command(missing)}\n"
        "Until then the parts that need them are skipped (browser tests) or degraded.",
        file=out,
        flush=True,
    )
    return missing


def main(argv: list[str]) -> int:
    arguments = [argument for argument in argv if not argument.startswith("--")]
    unknown = [group for group in arguments if group not in GROUPS]
    if unknown or not arguments:
        print(__doc__, file=sys.stderr)
        return 2
    missing = ensure(arguments, install=False if "--check" in argv else None)
    return 1 if missing and "--require" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
