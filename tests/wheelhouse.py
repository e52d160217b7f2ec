"""A fresh virtual environment holding the built package and only what it and pytest need, made offline.

The package is built from a copy of the source (so the work tree gets no build/ or egg-info) by its own
build backend, without build isolation. Its dependencies, and pytest's, are not downloaded: each is packed
back into a wheel from the files this test environment installed for it (its dist-info RECORD), so pip
installs into the new environment exactly the versions these tests run with, with `--no-index`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
_LOCAL_ONLY = ("INSTALLER", "REQUESTED", "RECORD", "direct_url.json")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would leak into the new one: pip's configuration (an index, a
    constraints file), this virtual environment, the suite's own LIVEAGENT_* settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "PYTHON", "LIVEAGENT_", "PYTEST_")) and k not in ("VIRTUAL_ENV",)
    }
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **extra)
    return env


def build_package(into: Path) -> Path:
    """The package's wheel, built by its build backend from a copy of the source."""
    source = into / "source"
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "liveagent_cli", source / "liveagent_cli", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = into / "wheels"
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels)]
    subprocess.run([*command, str(source)], check=True, env=clean_env(), capture_output=True, text=True)
    (built,) = wheels.glob("liveagent-*.whl")
    return built


def wheel_requirements(wheel: Path) -> list[str]:
    """The Requires-Dist lines of a built wheel (what installing it pulls in)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(name).decode()
    return re.findall(r"^Requires-Dist: (.+)$", text, re.M)


def requirement_closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions that `requirements` need, theirs included (markers evaluated here, extras
    not asked for left out)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [Requirement(line) for line in requirements]
    while todo:
        requirement = todo.pop()
        wanted = requirement.extras or {""}
        if requirement.marker is not None and not any(
            requirement.marker.evaluate({**default_environment(), "extra": extra}) for extra in wanted
        ):
            continue
        key = canonicalize_name(requirement.name)
        if key in seen:
            continue
        dist = metadata.distribution(requirement.name)
        seen[key] = dist
        for line in dist.requires or []:
            needed = Requirement(line)
            if needed.marker is None or any(
                needed.marker.evaluate({**default_environment(), "extra": extra}) for extra in wanted
            ):
                needed.marker = None
                todo.append(needed)
    return list(seen.values())


def repack(dist: metadata.Distribution, into: Path) -> Path:
    """A wheel of an installed distribution: the files its RECORD lists inside site-packages (no bytecode, no
    scripts: pip writes those), with a RECORD of their own."""
    site = Path(str(dist.locate_file("")))
    info = next(f for f in dist.files or [] if f.parts[0].endswith(".dist-info")).parts[0]
    tags = [tag.split("-") for tag in re.findall(r"^Tag: (.+)$", (site / info / "WHEEL").read_text(), re.M)]
    # several Tag lines are a compressed tag set in the file name: py2.py3-none-any
    tag = "-".join(".".join(dict.fromkeys(part[i] for part in tags)) for i in range(3)) if tags else "py3-none-any"
    wheel = into / f"{info.removesuffix('.dist-info')}-{tag}.whl"
    records: list[str] = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
        for file in dist.files or []:
            parts = file.parts
            if parts[0] == ".." or "__pycache__" in parts or file.suffix == ".pyc":
                continue
            if parts[0] == info and parts[-1] in _LOCAL_ONLY:
                continue
            data = (site / file).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            archive.writestr(file.as_posix(), data)
            records.append(f"{file.as_posix()},sha256={digest},{len(data)}")
        records.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    return wheel


def fresh_venv(where: Path, packages: list[str], wheels: Path) -> Path:
    """A new virtual environment (no pip of its own) with `packages` installed from `wheels` only; its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(where)
    python = where / "bin" / "python"
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", "--no-compile"]
    run = subprocess.run(
        [*command, "--find-links", str(wheels), *packages], env=clean_env(), capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return python
