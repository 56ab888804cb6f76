"""OpenAI failures as node errors: what a `catch` path needs, and never the API key.

`msg.error` gets `status`, `type`, `code`, `param`, `request_id` (as OpenAI
support asks for it) and `method` next to the runtime's `message` and
`source`, so a flow can branch on `msg.error.status == 429` or
`msg.error.code == "invalid_payload"` without parsing text.
"""

from __future__ import annotations

from typing import Any

from runtime import NodeError
from runtime.secrets import scrub


class OpenAINodeError(NodeError):
    """An OpenAI call could not be made or failed; details land on `msg.error`."""


def _clean(value: Any) -> Any:
    return scrub(value) if isinstance(value, str) else value


def _refused(exc: BaseException) -> BaseException | None:
    """The OS-level connect failure behind an SDK error, if any.

    The SDK's aiohttp transport reports a refused connection as a *connect
    timeout*; the chain of causes still holds the real reason.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and not isinstance(current, TimeoutError):
            return current
        current = current.__cause__ or current.__context__
    return None


def from_sdk(exc: Exception, method: str, msg: dict[str, Any] | None) -> OpenAINodeError:
    """Translate an SDK exception (status, timeout, connection) into a node error."""
    import openai  # already loaded by the call that failed; imported here so the family loads without it

    details: dict[str, Any] = {"method": method, "status": None, "type": None, "code": None, "param": None,
                               "request_id": None}
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        text = body.get("message") if isinstance(body.get("message"), str) else exc.message
        details.update(status=exc.status_code, type=exc.type or body.get("type"), code=exc.code or body.get("code"),
                       param=exc.param or body.get("param"), request_id=exc.request_id)
        message = f"{method}: {exc.status_code} {details['type'] or 'error'}: {text}"
        if exc.request_id:
            message += f" (request id {exc.request_id})"
    elif isinstance(exc, openai.APIConnectionError) and (
            not isinstance(exc, openai.APITimeoutError) or _refused(exc) is not None):
        details.update(type="connection_error", code="connection_error")
        cause = _refused(exc) or exc.__cause__ or exc.__context__
        message = f"{method}: cannot connect to the OpenAI API" + (f" ({cause})" if cause else "")
    elif isinstance(exc, openai.APITimeoutError):
        details.update(type="timeout", code="timeout")
        message = f"{method}: the request timed out"
    elif isinstance(exc, openai.APIError):  # e.g. an `error` event inside a stream
        body = exc.body if isinstance(exc.body, dict) else {}
        details.update(type=exc.type or body.get("type") or "api_error", code=exc.code or body.get("code"),
                       param=exc.param)
        message = f"{method}: {exc.message}"
    else:
        details.update(type=type(exc).__name__)
        message = f"{method}: {type(exc).__name__}: {exc}"
    return OpenAINodeError(scrub(message), msg, **{k: _clean(v) for k, v in details.items()})


def invalid_payload(method: str, problems: list[tuple[str, str]], text: str, msg: dict[str, Any]) -> OpenAINodeError:
    """A payload that failed validation: nothing was sent."""
    return OpenAINodeError(text, msg, method=method, status=None, type="invalid_request_error", code="invalid_payload",
                           param=problems[0][0] if problems else None, request_id=None,
                           problems=[{"property": p, "message": m} for p, m in problems])


def config_error(method: str, text: str, msg: dict[str, Any] | None) -> OpenAINodeError:
    return OpenAINodeError(f"{method}: {text}", msg, method=method, status=None, type="configuration_error",
                           code="configuration_error", param=None, request_id=None)
