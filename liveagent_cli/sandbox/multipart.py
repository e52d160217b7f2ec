"""`multipart/form-data` bodies (RFC 7578), read by hand: the upload servlet's and Enhanced Chat's file upload.

The bytes of each part are kept exactly. A body that cannot be read is a `MultipartError` whose `status`
says how an API answers it: 415 for a Content-Type that is not multipart/form-data, 400 for the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser

MAX_PARTS = 20
# HTML's form-data encoding (browsers, urllib3 and so requests) writes `"`, CR and LF in a name as %22, %0D
# and %0A, and nothing else; `filename*=` (RFC 5987) is percent-decoded by the header parser instead.
_FORM_DATA_ESCAPE = re.compile(r"%(22|0[dD]|0[aA])")


class MultipartError(ValueError):
    """A body that is not the multipart/form-data asked for; `status` is 415 or 400."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Part:
    name: str | None
    filename: str | None
    content_type: str
    data: bytes


def boundary_of(content_type: str | None, what: str = "the upload") -> str:
    """The multipart boundary of a Content-Type; 415 when it is not multipart/form-data."""
    if not content_type:
        raise MultipartError(f"{what} must be multipart/form-data (no Content-Type was sent)", 415)
    header = Message()
    header["content-type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise MultipartError(f"{what} must be multipart/form-data, not {header.get_content_type()}", 415)
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not 0 < len(boundary) <= 200:
        raise MultipartError("multipart/form-data without a usable boundary parameter")
    return boundary


def parse_multipart(body: bytes, boundary: str) -> list[Part]:
    """RFC 7578 parts, split on the boundary; the bytes of each part are kept exactly."""
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise MultipartError("the multipart body does not contain its boundary")
    parts: list[Part] = []
    pos = start + len(delimiter)
    while not body.startswith(b"--", pos):
        line_end = body.find(b"\r\n", pos)
        if line_end < 0 or len(parts) >= MAX_PARTS:
            raise MultipartError("malformed multipart body")
        pos = line_end + 2
        end = body.find(b"\r\n" + delimiter, pos)
        if end < 0:
            raise MultipartError("the multipart body ends before its closing boundary")
        raw = body[pos:end]
        if raw.startswith(b"\r\n"):
            head, content = b"", raw[2:]
        else:
            split = raw.find(b"\r\n\r\n")
            if split < 0:
                raise MultipartError("a multipart part has no blank line after its headers")
            head, content = raw[:split], raw[split + 4 :]
        parts.append(_part(head, content))
        pos = end + 2 + len(delimiter)
    return parts


def _part(head: bytes, content: bytes) -> Part:
    headers = BytesHeaderParser(policy=policy.HTTP).parsebytes(head + b"\r\n\r\n")
    assert isinstance(headers, EmailMessage)
    name = headers.get_param("name", header="content-disposition")
    filename = headers.get_filename()
    if filename is not None and b"filename*" not in head.lower():
        filename = _FORM_DATA_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), filename)
    content_type = headers.get_content_type() if "content-type" in headers else "application/octet-stream"
    return Part(name if isinstance(name, str) else None, filename, content_type, content)
