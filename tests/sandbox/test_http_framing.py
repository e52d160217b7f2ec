"""HTTP framing on the wire, raw sockets against a running sandbox: malformed requests are refused with the
right status and a closed connection (and the server goes on serving), chunked bodies, HEAD, pipelining
while a poll is held, and URLs built from the sandbox's own address rather than the request's Host."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from urllib3 import encode_multipart_formdata

from liveagent_cli.sandbox import BUTTON_ID, DEPLOYMENT_ID, ORG_ID, Sandbox
from tests.sandbox.helpers import API_VERSION, Control, Visitor, raw_exchange, wait_until

HEALTH = b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n"
VERSION = {"X-LIVEAGENT-API-VERSION": API_VERSION}

MALFORMED = [
    pytest.param(HEALTH + b"X-A: a\x00b\r\n\r\n", 400, id="NUL in a header value"),
    pytest.param(HEALTH + b"X-A: a\rb\r\n\r\n", 400, id="bare CR in a header value"),
    pytest.param(HEALTH + b"Host: y\r\n\r\n", 400, id="two Host headers"),
    pytest.param(b"GET /_sandbox/health HTTP/1.1\r\n\r\n", 400, id="HTTP/1.1 without Host"),
    pytest.param(HEALTH + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431, id="complete head over 16 KiB"),
    pytest.param(HEALTH + b"X-Big: " + b"a" * 20_000, 431, id="incomplete head over 16 KiB"),
    pytest.param(HEALTH + b"X-A: b\r\n" * 150 + b"\r\n", 431, id="over 100 header lines"),
    pytest.param(HEALTH + b"Content-Length: abc\r\n\r\n", 400, id="Content-Length not a number"),
    pytest.param(HEALTH + b"Content-Length: -1\r\n\r\n", 400, id="negative Content-Length"),
    pytest.param(HEALTH + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, id="conflicting Content-Length"),
    pytest.param(HEALTH + b"Transfer-Encoding: gzip\r\n\r\n", 501, id="unsupported Transfer-Encoding"),
    pytest.param(
        HEALTH + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, id="Content-Length and TE"
    ),
    pytest.param(b"GET /_sandbox/health HTTP/2.0\r\nHost: x\r\n\r\n", 505, id="HTTP/2.0"),
    pytest.param(b"BREW /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n", 501, id="unknown method"),
    pytest.param(b"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 501, id="CONNECT"),
    pytest.param(HEALTH + b"Expect: 200-ok\r\n\r\n", 417, id="Expect other than 100-continue"),
    pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, id="TLS client hello"),
    pytest.param(b"\x00\x01\x02 garbage \xff", 400, id="binary junk"),
    pytest.param(b"GET /_sandbox/health\r\n\r\n", 400, id="HTTP/0.9 request line"),
]


def _status_line(answer: bytes) -> bytes:
    return answer.partition(b"\r\n")[0]


def _served(sandbox: Sandbox) -> bool:
    return requests.get(sandbox.url + "/_sandbox/health", timeout=5).json()["status"] == "ok"


@pytest.mark.parametrize(("data", "status"), MALFORMED)
def test_a_malformed_request_is_refused_and_closed(shared_sandbox: Sandbox, data: bytes, status: int) -> None:
    with socket.create_connection(("127.0.0.1", shared_sandbox.port), timeout=5) as other:  # another client
        other.sendall(HEALTH + b"\r\n")
        assert other.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        answer = raw_exchange(shared_sandbox, data)  # returns once the server has closed the connection
        head, _, body = answer.partition(b"\r\n\r\n")
        assert _status_line(answer).startswith(b"HTTP/1.1 %d " % status), answer[:200]
        assert b"\r\nConnection: close" in head and b'"error":' in body
        other.sendall(HEALTH + b"\r\n")  # the other client's keep-alive connection is still served
        assert other.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
    assert _served(shared_sandbox)


def test_empty_lines_before_a_request_are_ignored(shared_sandbox: Sandbox) -> None:
    answer = raw_exchange(shared_sandbox, b"\r\n\r\n" + HEALTH + b"Connection: close\r\n\r\n")
    assert _status_line(answer) == b"HTTP/1.1 200 OK"


def test_head_is_get_without_the_body(shared_sandbox: Sandbox, control: Control) -> None:
    with socket.create_connection(("127.0.0.1", shared_sandbox.port), timeout=5) as sock:
        sock.sendall(b"HEAD /_sandbox/queues HTTP/1.1\r\nHost: x\r\n\r\n")
        head = sock.recv(65536)
        assert _status_line(head) == b"HTTP/1.1 200 OK" and head.endswith(b"\r\n\r\n")  # no body follows
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        sock.sendall(b"GET /_sandbox/queues HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")  # same connection
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert _status_line(answer) == b"HTTP/1.1 200 OK"
    assert len(answer.partition(b"\r\n\r\n")[2]) == length == len(control.get("queues").content)


def test_head_on_the_chat_api_is_journalled_as_head(
    make_sandbox: Callable[..., Sandbox], control_on: Callable[[Sandbox], Control]
) -> None:
    sandbox = make_sandbox()
    url = sandbox.pod_url + "Visitor/Availability"
    params = {"org_id": ORG_ID, "deployment_id": DEPLOYMENT_ID, "Availability.ids": BUTTON_ID}
    response = requests.head(url, params=params, headers=VERSION, timeout=5)
    get = requests.get(url, params=params, headers=VERSION, timeout=5)
    assert response.status_code == get.status_code == 200 and response.content == b""
    assert response.headers["Content-Length"] == get.headers["Content-Length"]
    methods = [entry["method"] for entry in control_on(sandbox).get("requests").json()["requests"]]
    assert methods == ["HEAD", "GET"]


def _chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_chunked_chat_message_is_accepted(visitor: Visitor, control: Control) -> None:
    visitor.start_chat()
    response = visitor.post("Chasitor/ChatMessage", data=_chunks(b'{"text": "streamed hello"}', 5))
    assert response.status_code == 200, response.text
    assert control.chat(visitor.info["id"])["transcript"][-1] == "streamed hello"


def test_a_chunked_upload_is_accepted(visitor: Visitor, control: Control) -> None:
    """A client that streams its upload (a generator body: no Content-Length) gets what the real servlet
    gives it, not 411."""
    visitor.start_chat()
    assert control.agent(visitor.info["id"], "request-file").status_code == 200
    transfer = visitor.wait_for("FileTransfer")[-1]["message"]
    data = bytes(range(256)) * 400
    body, content_type = encode_multipart_formdata({"file": ('a "q".pdf', data, "application/pdf")})
    params = {"orgId": "00D000000000001", "chatKey": visitor.info["id"], "fileToken": transfer["fileToken"]}
    response = requests.post(
        transfer["uploadServletUrl"],
        params=params,
        data=_chunks(body, 4096),
        headers={"Content-Type": content_type},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "name": 'a "q".pdf',  # sent as `a %22q%22.pdf`, HTML's form-data escaping, and decoded back
        "contentType": "application/pdf",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


# ---- pipelining while a poll is held -----------------------------------------------------------------


def _poll_request(key: str) -> bytes:
    return (
        f"GET /chat/rest/System/Messages?ack=-1 HTTP/1.1\r\nHost: x\r\n"
        f"X-LIVEAGENT-API-VERSION: {API_VERSION}\r\nX-LIVEAGENT-SESSION-KEY: {key}\r\n\r\n"
    ).encode()


def _read_answers(sock: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    """`count` answers (status line, body) read off one connection, in order (every answer has Content-Length)."""
    data, answers = b"", []
    while len(answers) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end]
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            if len(data) >= head_end + 4 + length:
                answers.append((_status_line(head), data[head_end + 4 : head_end + 4 + length]))
                data = data[head_end + 4 + length :]
                continue
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    return answers


def test_requests_pipelined_during_a_held_poll_are_answered_after_it(
    make_sandbox: Callable[..., Sandbox],
    visitor_on: Callable[[Sandbox], Visitor],
    control_on: Callable[[Sandbox], Control],
) -> None:
    sandbox = make_sandbox(poll_hold=30)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    chat_id = visitor.info["id"]
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as sock:
        sock.sendall(_poll_request(visitor.info["key"]))
        wait_until(lambda: control.chat(chat_id)["pollsHeld"] == 1, what="the poll to be held")
        sock.sendall(HEALTH + b"\r\n" + HEALTH + b"\r\n")  # read ahead by the disconnect watcher, kept
        assert control.agent(chat_id, "say", text="while you waited").status_code == 200
        (poll_status, poll_body), (first, _), (second, health) = _read_answers(sock, 3)
    assert poll_status == b"HTTP/1.1 200 OK" and b"while you waited" in poll_body
    assert first == second == b"HTTP/1.1 200 OK" and b'"status":"ok"' in health


def test_a_client_leaving_after_pipelining_still_releases_its_held_poll(
    make_sandbox: Callable[..., Sandbox],
    visitor_on: Callable[[Sandbox], Visitor],
    control_on: Callable[[Sandbox], Control],
) -> None:
    sandbox = make_sandbox(poll_hold=30)
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    visitor.start_chat()
    chat_id = visitor.info["id"]
    sock = socket.create_connection(("127.0.0.1", sandbox.port), timeout=10)
    try:
        sock.sendall(_poll_request(visitor.info["key"]))
        wait_until(lambda: control.chat(chat_id)["pollsHeld"] == 1, what="the poll to be held")
        sock.sendall(HEALTH)  # the start of a pipelined request: the watcher must go on watching after it
    finally:
        sock.close()
    wait_until(lambda: control.chat(chat_id)["pollsHeld"] == 0, what="the poll to be released (hold is 30 s)")


# ---- URLs handed out ---------------------------------------------------------------------------------


EVIL = {"Host": "evil.example:1"}


def _requested_transfer(visitor: Visitor, control: Control) -> dict[str, Any]:
    visitor.start_chat()
    assert control.agent(visitor.info["id"], "request-file").status_code == 200
    transfer: dict[str, Any] = visitor.wait_for("FileTransfer")[-1]["message"]
    return transfer


def test_the_request_host_is_never_reflected(
    make_sandbox: Callable[..., Sandbox], control_on: Callable[..., Control]
) -> None:
    sandbox = make_sandbox(faults=("switch-server:times=1",))
    health = requests.get(sandbox.url + "/_sandbox/health", headers=EVIL, timeout=5).json()
    assert (health["url"], health["podUrl"]) == (sandbox.url, sandbox.pod_url)
    switch = requests.get(sandbox.pod_url + "Visitor/Availability", headers={**EVIL, **VERSION}, timeout=5).json()
    assert switch["messages"][0]["message"]["newUrl"] == sandbox.url + "/pod2/chat"
    visitor = Visitor(sandbox)
    visitor.http.headers.update(EVIL)  # every request of this chat, SessionId included, names another host
    try:
        transfer = _requested_transfer(visitor, control_on(sandbox))
    finally:
        visitor.close()
    assert transfer["uploadServletUrl"] == sandbox.url + "/_upload/file"


def test_public_url_is_the_base_of_the_urls_handed_out(
    make_sandbox: Callable[..., Sandbox], control_on: Callable[..., Control]
) -> None:
    public = "https://pod.example/sandbox"
    sandbox = make_sandbox(public_url=public + "/")
    health = requests.get(sandbox.url + "/_sandbox/health", timeout=5).json()
    assert (health["url"], health["podUrl"]) == (public, public + "/chat/rest/")
    visitor = Visitor(sandbox)
    try:
        transfer = _requested_transfer(visitor, control_on(sandbox))
    finally:
        visitor.close()
    assert transfer["uploadServletUrl"] == public + "/_upload/file"


@pytest.mark.parametrize("url", ["ftp://pod.example", "pod.example", "https://", "https://pod.example/?a=1"])
def test_a_public_url_that_is_not_an_http_url_is_refused(url: str) -> None:
    from liveagent_cli.sandbox import SandboxConfig

    with pytest.raises(ValueError, match="the public URL"):
        SandboxConfig(public_url=url).validate()


LIVEAGENT = str(Path(sys.executable).with_name("liveagent"))
_PRINT_HEALTH_URL = (
    "import json, os, urllib.request; "
    "print(json.load(urllib.request.urlopen(os.environ['LIVEAGENT_SANDBOX_URL'] + '/_sandbox/health'))['url'])"
)


def test_sandbox_exec_public_url_is_what_the_sandbox_hands_out() -> None:
    command = [LIVEAGENT, "sandbox", "exec", "--quiet", "--public-url", "https://pod.example/sb"]
    result = subprocess.run(
        [*command, "--", sys.executable, "-c", _PRINT_HEALTH_URL], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://pod.example/sb"


def test_a_public_url_that_is_not_a_url_is_a_usage_error() -> None:
    command = [LIVEAGENT, "sandbox", "exec", "--public-url", "pod.example", "--", "true"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: the public URL 'pod.example' is not an http:// or https:// URL")
    assert "Traceback" not in result.stderr
