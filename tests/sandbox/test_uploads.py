"""File transfer (reference section 3.8): the agent asks, the visitor uploads multipart to the servlet, the pod
says Success; wrong tokens, oversize and malformed uploads are refused clearly."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import pytest
import requests

from liveagent_cli.sandbox import Sandbox
from tests.sandbox.helpers import Control, Visitor, raw_exchange


def _requested(visitor: Visitor, control: Control) -> dict[str, Any]:
    visitor.start_chat()
    response = control.agent(visitor.info["id"], "request-file")
    assert response.status_code == 200
    transfer: dict[str, Any] = visitor.wait_for("FileTransfer")[-1]["message"]
    assert transfer["fileToken"] == response.json()["fileToken"]
    return transfer


def test_request_file_sends_a_file_transfer_request(visitor: Visitor, control: Control) -> None:
    transfer = _requested(visitor, control)
    assert transfer["type"] == "Requested"
    assert transfer["uploadServletUrl"] == visitor.sandbox.url + "/_upload/file"
    assert transfer["cdmServletUrl"].startswith(visitor.sandbox.url)
    assert control.chat(visitor.info["id"])["fileRequested"] is True


def test_an_upload_is_recorded_exactly_and_answered_with_success(visitor: Visitor, control: Control) -> None:
    transfer = _requested(visitor, control)
    data = os.urandom(3000) + b"\r\n--boundary-lookalike\r\n" + bytes(range(256))  # binary, CRLFs, dashes
    # As Salesforce's SDK sends it: multipart, query parameters, none of the Live Agent headers.
    response = visitor.upload(transfer, data, filename="scan.bin", content_type="application/octet-stream")
    assert response.status_code == 200
    digest = hashlib.sha256(data).hexdigest()
    assert response.json() == {
        "name": "scan.bin",
        "contentType": "application/octet-stream",
        "size": len(data),
        "sha256": digest,
    }
    assert visitor.wait_for("FileTransfer")[-1]["message"] == {"type": "Success"}
    [file] = control.chat(visitor.info["id"])["files"]
    assert (file["name"], file["size"], file["sha256"]) == ("scan.bin", len(data), digest)
    assert control.chat(visitor.info["id"])["fileRequested"] is False


def test_uploads_beyond_the_api_body_limit_are_fine_on_the_servlet(visitor: Visitor, control: Control) -> None:
    transfer = _requested(visitor, control)
    big = b"x" * (2 << 20)  # twice the 1 MiB limit of the Chat API
    assert visitor.upload(transfer, big).json()["size"] == len(big)


@pytest.mark.parametrize(
    ("override", "status"),
    [
        ({"fileToken": "0000000000000000"}, 403),
        ({"chatKey": "not-a-chat"}, 403),
        ({"orgId": "00Dsomeoneelse"}, 403),
        ({"fileToken": ""}, 400),
    ],
)
def test_a_wrong_token_chat_or_org_is_refused(
    override: dict[str, str], status: int, visitor: Visitor, control: Control
) -> None:
    transfer = _requested(visitor, control)
    response = visitor.upload(transfer, b"data", **override)
    assert response.status_code == status
    assert response.json()["error"]
    assert visitor.upload(transfer, b"data").status_code == 200  # the real token still works


def test_a_token_works_once(visitor: Visitor, control: Control) -> None:
    transfer = _requested(visitor, control)
    assert visitor.upload(transfer, b"one").status_code == 200
    assert visitor.upload(transfer, b"two").status_code == 403


def test_cancel_file_withdraws_the_request(visitor: Visitor, control: Control) -> None:
    transfer = _requested(visitor, control)
    assert control.agent(visitor.info["id"], "cancel-file").status_code == 200
    assert visitor.wait_for("FileTransfer")[-1]["message"] == {"type": "Canceled"}
    assert visitor.upload(transfer, b"too late").status_code == 403
    assert control.agent(visitor.info["id"], "cancel-file").status_code == 409  # nothing left to cancel


def test_a_body_that_is_not_multipart_or_has_no_file_field_is_refused(visitor: Visitor, control: Control) -> None:
    transfer = _requested(visitor, control)
    params = {"orgId": "00D000000000001", "chatKey": visitor.info["id"], "fileToken": transfer["fileToken"]}
    url = transfer["uploadServletUrl"]
    assert requests.post(url, params=params, json={"file": "x"}, timeout=5).status_code == 415
    assert requests.post(url, params=params, files={"other": ("a", b"x")}, timeout=5).status_code == 400
    broken = requests.post(
        url,
        params=params,
        data=b"--b\r\nno end",
        timeout=5,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert broken.status_code == 400
    assert requests.get(url, params=params, timeout=5).status_code == 405
    assert visitor.upload(transfer, b"fine").status_code == 200


def test_an_upload_over_25_mib_is_413_and_the_server_stays_up(visitor: Visitor, control: Control) -> None:
    transfer = _requested(visitor, control)
    target = f"/_upload/file?orgId=00D000000000001&chatKey={visitor.info['id']}&fileToken={transfer['fileToken']}"
    head = (
        f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {(25 << 20) + 1}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    answer = raw_exchange(visitor.sandbox, head)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert visitor.upload(transfer, b"small").status_code == 200


def test_uploads_are_journalled_without_their_bytes(
    make_sandbox: Callable[..., Sandbox],
    visitor_on: Callable[[Sandbox], Visitor],
    control_on: Callable[[Sandbox], Control],
) -> None:
    sandbox = make_sandbox()
    visitor, control = visitor_on(sandbox), control_on(sandbox)
    transfer = _requested(visitor, control)
    visitor.upload(transfer, b"secret-bytes")
    entry = control.get("requests").json()["requests"][-1]
    assert (entry["path"], entry["status"], entry["chat"]) == ("/_upload/file", 200, visitor.info["id"])
    assert "secret-bytes" not in str(entry)


def test_a_file_name_with_quotes_is_stored_as_the_visitor_named_it(visitor: Visitor, control: Control) -> None:
    """requests (urllib3), like browsers, writes `"` in a form-data filename as %22; the servlet decodes it."""
    transfer = _requested(visitor, control)
    response = visitor.upload(transfer, b"%PDF", filename='a "q".pdf')
    assert response.json()["name"] == 'a "q".pdf'
    assert [f["name"] for f in control.chat(visitor.info["id"])["files"]] == ['a "q".pdf']
