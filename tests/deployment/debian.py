"""Debian packages the deployment tiers need, installed on first use: CI machines start without
Chromium and Redis (and maybe PostgreSQL), and a test that cannot install one fails saying so."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def ensure_installed(package: str, executable: str) -> None:
    """Install ``package`` with ``apt-get`` unless ``executable`` (a path or a name on PATH) exists."""
    if shutil.which(executable):
        return
    if shutil.which("apt-get") is None:
        pytest.fail(f"{executable} is needed: install Debian's {package} package")
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
    ):
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
        if done.returncode != 0:
            pytest.fail(f"could not install {package} ({' '.join(command)}): {done.stderr[-2000:]}")
