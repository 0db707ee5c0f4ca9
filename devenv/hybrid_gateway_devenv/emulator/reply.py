"""A minimal HTTP answer that the emulator's own code produces (faults, extension, control API)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

StartResponse = Callable[..., Any]

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def request_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, start_response: StartResponse, head: bool = False) -> Iterable[bytes]:
        body = b"" if head else self.body
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{self.status} {_REASONS.get(self.status, 'Unknown')}", headers)
        return [body]


def json_reply(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    all_headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id())]
    all_headers.extend(headers or [])
    return Reply(status, json.dumps(payload, default=str).encode("utf-8"), all_headers)


def xml_reply(status: int, text: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    all_headers = [("Content-Type", "text/xml")]
    all_headers.extend(headers or [])
    return Reply(status, text.encode("utf-8"), all_headers)


def rest_json_error(status: int, error_type: str, message: str) -> Reply:
    """An error the way API Gateway's control plane answers: type in a header, message in the body."""
    return json_reply(status, {"message": message}, [("x-amzn-ErrorType", error_type)])
