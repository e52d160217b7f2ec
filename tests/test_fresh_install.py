"""Installing the package is enough: the examples of docs/testing.md and the README, run where a user runs them.

One test builds the package, installs it into a fresh virtual environment with only pytest and pytest-xdist
beside it (offline: tests/wheelhouse.py), and there runs every Python example of the pages: each
`# example: test_*.py` block is a test file that uses nothing but the plugin's fixtures (found through the
`pytest11` entry point alone), run by pytest, then again with `-n 2`; every other `# example: NAME.py` block is
a script, run by the new environment's python, whose `# expect:` lines must be in what it prints.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.wheelhouse import ROOT, build_package, clean_env, fresh_venv, repack, requirement_closure, wheel_requirements

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLE = re.compile(r"```python\n# example: (?P<name>[\w-]+\.py)\n(?P<body>.*?)```", re.S)
EXAMPLES = {m["name"]: m["body"] for page in PAGES for m in EXAMPLE.finditer(page.read_text())}
INSTALLED = ["liveagent", "pytest", "pytest-xdist"]


def test_the_pages_have_the_examples_they_promise() -> None:
    assert {"test_echo_bot.py", "test_human_agent.py", "python_api.py", "test_readme_integration.py"} <= set(EXAMPLES)
    names = [m["name"] for page in PAGES for m in EXAMPLE.finditer(page.read_text())]
    assert len(names) == len(set(names)), "two examples of the same name"


def test_the_examples_pass_in_a_fresh_environment_with_only_the_package_and_pytest(tmp_path: Path) -> None:
    built = build_package(tmp_path / "build")
    wheels = built.parent
    for dist in requirement_closure([*wheel_requirements(built), "pytest", "pytest-xdist"]):
        repack(dist, wheels)
    python = fresh_venv(tmp_path / "venv", INSTALLED, wheels)

    project = tmp_path / "project"  # a user's project: no conftest.py, nothing of this repository
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    tests = sorted(name for name in EXAMPLES if name.startswith("test_"))
    for name, body in EXAMPLES.items():
        (project / name).write_text(body)
    env = clean_env()

    where = subprocess.run(
        [str(python), "-c", "import liveagent_cli; print(liveagent_cli.__file__)"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(tmp_path / "venv")), where.stdout + where.stderr

    for workers in ([], ["-n", "2"]):
        run = subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *workers, *tests],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert re.search(r"^\d+ passed", run.stdout.splitlines()[-1]), run.stdout
        assert "warning" not in run.stdout.lower(), run.stdout

    for name in sorted(set(EXAMPLES) - set(tests)):
        script = subprocess.run([str(python), name], cwd=project, env=env, capture_output=True, text=True, timeout=60)
        assert script.returncode == 0, f"{name}:\n{script.stdout}{script.stderr}"
        for expected in re.findall(r"^# expect: (.*)$", EXAMPLES[name], re.M):
            assert expected in script.stdout, f"{name}: {expected!r} not in its output:\n{script.stdout}"
