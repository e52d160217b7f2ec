"""`upload` against the sandbox's Enhanced Chat file endpoint (`POST …/conversation/{id}/file`, multipart): the
file arrives whole, once, even when the answer to the first try is lost; what cannot be sent is refused
before anything goes out."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from liveagent_cli.sandbox import Sandbox
from tests.conftest import Cli, Run


class Miaw:
    def __init__(self, cli: Cli, sandbox: Sandbox) -> None:
        self.cli, self.sandbox = cli, sandbox

    def __call__(self, *args: str) -> Run:
        return self.cli(
            *args,
            LIVEAGENT_API="miaw",
            LIVEAGENT_POD=self.sandbox.messaging_url,
            LIVEAGENT_ORG_ID=self.sandbox.org_id,
            LIVEAGENT_DEPLOYMENT_NAME=self.sandbox.deployment_name,
        )


@pytest.fixture
def miaw(cli: Cli, sandbox: Sandbox) -> Miaw:
    return Miaw(cli, sandbox)


def established(miaw: Miaw) -> None:
    for step in (("session",), ("init", "--visitor-name", "Ada"), ("poll", "--until", "established")):
        run = miaw(*step)
        assert run.code == 0, (step, run.stderr)


def file_posts(sandbox: Sandbox) -> list[dict[str, object]]:
    return [r for r in sandbox.requests() if r["method"] == "POST" and str(r["path"]).endswith("/file")]


def test_upload_sends_the_file_as_multipart_and_the_stream_echoes_it(
    miaw: Miaw, sandbox: Sandbox, tmp_path: Path
) -> None:
    established(miaw)
    note = tmp_path / "note.txt"
    note.write_bytes(b"order 1234: the parcel never came\n")
    run = miaw("upload", str(note), "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout) == {"uploaded": "note.txt", "bytes": note.stat().st_size, "contentType": "text/plain"}
    [conversation] = sandbox.chats()
    assert conversation["files"] == [
        {
            "name": "note.txt",
            "contentType": "text/plain",
            "size": note.stat().st_size,
            "sha256": hashlib.sha256(note.read_bytes()).hexdigest(),
        }
    ]
    assert conversation["transcript"] == [], "a file is not a text message"
    shown = miaw("poll", "--json", "--until", "echo")
    assert shown.code == 0, shown.stderr
    echoes = [json.loads(line) for line in shown.stdout.splitlines() if '"kind": "echo"' in line]
    assert [e["text"] for e in echoes] == ["[attachment: note.txt]"]


def test_a_lost_answer_to_an_upload_is_retried_and_the_file_taken_once(
    miaw: Miaw, sandbox: Sandbox, tmp_path: Path
) -> None:
    established(miaw)
    sandbox.add_fault("drop:path=file,times=1")  # processed, its answer lost
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    run = miaw("upload", str(photo))
    assert run.code == 0, run.stderr
    assert [p["status"] for p in file_posts(sandbox)] == [None, 202], "the first answer was lost, then retried"
    [conversation] = sandbox.chats()
    assert [f["name"] for f in conversation["files"]] == ["photo.png"], "the server took it once"
    assert conversation["files"][0]["size"] == photo.stat().st_size


def test_what_cannot_be_uploaded_is_refused_before_anything_is_sent(
    miaw: Miaw, sandbox: Sandbox, tmp_path: Path
) -> None:
    early = tmp_path / "early.txt"
    early.write_text("too soon\n")
    assert miaw("session").code == 0
    before_init = miaw("upload", str(early))
    assert before_init.code == 2 and "has no conversation yet" in before_init.stderr.splitlines()[0]
    assert miaw("init").code == 0
    big = tmp_path / "big.txt"
    with big.open("wb") as out:
        out.truncate(5 * 1024 * 1024 + 1)
    too_big = miaw("upload", str(big))
    assert too_big.code == 2 and "the limit is 5 MiB" in too_big.stderr.splitlines()[0]
    missing = miaw("upload", str(tmp_path / "nowhere.txt"))
    assert missing.code != 0 and missing.stderr.startswith("error: ")
    assert file_posts(sandbox) == [] and sandbox.chats()[0]["files"] == []
