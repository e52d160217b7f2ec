"""The CLI in this process: `invoke` runs `liveagent ARGS` through `run(argv, env)` with an Environment of its own.

It is the same program as the console script (same parsing, same exit codes, same streams as far as the code
can tell), without a process start per step. What it cannot model, tests keep as real processes: state carried
between concurrent processes, locks between them, signals and kill -9, a terminal, import costs, and the
variables that only libraries read (requests' CA bundle and proxies: `invoke` refuses them).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from liveagent_cli.cli.app import run
from liveagent_cli.cli.environment import Environment

# read by requests or the OS, not by the command layer: in this process they would silently do nothing
PROCESS_ONLY_VARIABLES = frozenset(
    {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}
)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def invoke(
    *args: str,
    environ: Mapping[str, str],
    stdin: str | bytes | None = None,
    timeout: float = 60,
) -> Run:
    """Run one command line in-process with `environ` as its variables and `stdin` as its input.

    Streams are UTF-8 byte buffers (like a pipe: not a terminal, strict encoding) decoded the way the subprocess
    runner decodes them. The command runs on a worker thread so `timeout` holds as it does for a process.
    """
    data = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
    out, err = io.BytesIO(), io.BytesIO()
    env = Environment(
        argv=list(args),
        environ=dict(environ),
        stdin=io.BytesIO(data),
        stdout=io.TextIOWrapper(out, encoding="utf-8", write_through=True),
        stderr=io.TextIOWrapper(err, encoding="utf-8", write_through=True),
    )
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(run(env=env)), name=f"liveagent {' '.join(args)}")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise AssertionError(f"`liveagent {' '.join(args)}` was still running after {timeout} s")
    if not codes:
        raise AssertionError(f"`liveagent {' '.join(args)}` raised instead of returning an exit code")
    return Run(codes[0], out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace"))


def check_in_process(changed: Mapping[str, str]) -> None:
    """Refuse variables a test sets that only a separate process would act on."""
    refused = sorted(name for name in changed if name.upper() in PROCESS_ONLY_VARIABLES)
    if refused:
        raise ValueError(f"{', '.join(refused)} only reach a separate process: mark the test `process`")
