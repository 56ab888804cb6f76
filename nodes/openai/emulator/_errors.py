"""Errors shaped like OpenAI's: `{"error": {"message", "type", "param", "code"}}`.

Handlers raise `ApiError`; one middleware turns it into the JSON body and
status the SDK maps to its exception classes (BadRequestError, NotFoundError...).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error response; `status` picks the SDK exception class on the client side."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, f"No {kind} found with id '{object_id}'.")


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)
