"""The one place where errors become HTTP responses.

API errors have one JSON shape, ``{"error": {"type", "field", "rule", "message"}}`` (plus
``"key"`` for a tag or config key): ``field`` names the request field at fault (``tags``,
``run_config``, ``cursor`` …), ``rule`` says what was wrong. Bad input is 422, an unknown
id 404, a run (or backfill) in the wrong state 409, a failing database 503. Pages show the
same message on an error page.

Nothing here imports FastAPI: the pages are plain Starlette, and the API (FastAPI) is built
on first use (``dagwright.web.app``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dagwright.errors import (
    DagwrightCodeLoadError,
    DagwrightCodeLocationError,
    DagwrightError,
    DagwrightExecutionError,
    DagwrightInvalidConfigError,
    DagwrightInvalidMetadataError,
    DagwrightInvalidPartitionError,
    DagwrightInvalidQueryError,
    DagwrightInvalidTagError,
    DagwrightInvalidTransitionError,
    DagwrightNotFoundError,
    DagwrightRunNotFoundError,
    DagwrightStorageError,
    DagwrightUserCodeError,
)
from dagwright.jsonvalue import printable

if TYPE_CHECKING:
    from fastapi.exceptions import RequestValidationError
    from starlette.applications import Starlette

#: Where the HTTP API's paths start (its version segment included): requests under it go
#: to the API and are answered JSON, errors included.
API_PREFIX: Final = "/api/v1"

#: The fields of a launch request: those a ``DagwrightInvalidConfigError`` may name as its
#: ``where``, and those the launchpad shows an error next to.
REQUEST_FIELDS: Final = frozenset({"run_config", "op_selection", "partition_key", "tags"})

_Choice = TypeVar("_Choice", bound=Enum)


class ApiError(Exception):
    """An error already shaped for the client: status, type, field and rule.

    Attributes:
        status: the HTTP status.
        type: a short machine name (``invalid_tag``, ``not_found`` …).
        field: the request field at fault, or None.
        rule: what was wrong.
        key: the tag or config key at fault, if any.
        extra: more members of the body (a query error's ``position`` and ``expected``).
    """

    def __init__(
        self,
        status: int,
        type: str,
        field: str | None,
        rule: str,
        message: str | None = None,
        key: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.extra = extra or {}
        self.status = status
        self.type = type
        self.field = field
        self.rule = rule
        self.key = key
        self.message = message or (f"{field}: {rule}" if field else rule)
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        """The JSON body; any text echoed from the request that UTF-8 cannot hold (a lone
        surrogate in a tag key …) is written with ``\\udXXX`` escapes, so that the body can
        always be sent."""
        error: dict[str, Any] = {
            "type": self.type,
            "field": _printable(self.field),
            "rule": printable(self.rule),
            "message": printable(self.message),
        }
        if self.key is not None:
            error["key"] = printable(self.key)
        error.update(self.extra)
        return {"error": error}


def _printable(text: str | None) -> str | None:
    return None if text is None else printable(text)


#: The request field a thing of each kind is reported against (an unknown one, or one in
#: the wrong status).
_NOT_FOUND_FIELDS = {"run": "run_id", "backfill": "backfill_id"}

#: Errors shaped by their class alone: (class, status, type, default field); the rule is
#: the error's message.
_BY_CLASS: tuple[tuple[type[DagwrightError], int, str, str | None], ...] = (
    (DagwrightCodeLocationError, 403, "code_location_refused", "run_id"),
    (DagwrightCodeLoadError, 404, "not_found", "job_name"),
    (DagwrightExecutionError, 409, "conflict", "run_id"),
    (DagwrightStorageError, 503, "storage_unavailable", None),
    (DagwrightUserCodeError, 422, "user_code_error", "run_config"),
)


def from_dagwright(exc: DagwrightError, field: str | None = None) -> ApiError:
    """Shape a dagwright error; ``field`` overrides the field it is reported against."""
    message = str(exc)
    invalid = _invalid_input(exc, field, message)
    if invalid is not None:
        return invalid
    if isinstance(exc, DagwrightRunNotFoundError):
        return ApiError(404, "not_found", field or "run_id", "no run has this id", message)
    if isinstance(exc, DagwrightNotFoundError):
        rule = f"no {exc.what} has this id or name"
        default = _NOT_FOUND_FIELDS.get(exc.what, "name")
        return ApiError(404, "not_found", field or default, rule, message)
    if isinstance(exc, DagwrightInvalidTransitionError):
        default = _NOT_FOUND_FIELDS.get(exc.what, "run_id")
        return ApiError(409, "conflict", field or default, message, message)
    for kind, status, error_type, default_field in _BY_CLASS:
        if isinstance(exc, kind):
            return ApiError(status, error_type, field or default_field, message, message)
    return ApiError(422, "invalid", field, message, message)


def _invalid_input(exc: DagwrightError, field: str | None, message: str) -> ApiError | None:
    """The 422 of a bad tag, config, partition, metadata entry or query; else None."""
    if isinstance(exc, DagwrightInvalidTagError):
        return ApiError(422, "invalid_tag", field or "tags", exc.rule, message, exc.key)
    if isinstance(exc, DagwrightInvalidQueryError):
        facts = {"position": exc.position, "expected": exc.expected}
        return ApiError(422, "invalid_query", field or "q", exc.expected, message, extra=facts)
    if isinstance(exc, DagwrightInvalidConfigError):
        where = exc.where if exc.where in REQUEST_FIELDS else "run_config"
        return ApiError(422, "invalid_config", field or where, exc.rule, message, exc.key)
    if isinstance(exc, DagwrightInvalidPartitionError):
        return ApiError(422, "invalid_partition", field or "partition_key", exc.rule, message)
    if isinstance(exc, DagwrightInvalidMetadataError):
        return ApiError(422, "invalid_metadata", field, exc.rule, message, exc.key)
    return None


def is_api_path(path: str) -> bool:
    """Whether ``path`` is one of the HTTP API's (under :data:`API_PREFIX`)."""
    return path == API_PREFIX or path.startswith(f"{API_PREFIX}/")


def parse_choice(choices: type[_Choice], text: str, field: str) -> _Choice:
    """The member of an enum of upper-case values named by ``text``, in any case.

    Raises:
        ApiError: 422 naming ``field`` and the values it may take.
    """
    try:
        return choices(text.upper())
    except ValueError:
        known = ", ".join(str(choice.value) for choice in choices)
        raise ApiError(422, "invalid_request", field, f"one of {known}") from None


def parse_whole(text: str | None, field: str, rule: str, *, digits: int = 18) -> int | None:
    """A request parameter that is a whole number of at most ``digits`` ASCII digits
    (``str.isdigit`` alone takes '²' and other scripts' digits, which ``int`` refuses);
    None when empty.

    Raises:
        ApiError: 422 naming ``field`` with ``rule`` for anything else.
    """
    text = (text or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > digits:
        raise ApiError(422, "invalid_request", field, rule)
    return int(text)


def _json_problem(first: Mapping[str, Any], body: object) -> ApiError:
    """A body that is not JSON: field ``body``, where (line and column) and what."""
    offset = first["loc"][1] if len(first.get("loc", ())) > 1 else None
    why = str((first.get("ctx") or {}).get("error") or "not valid JSON")
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(offset, int) and isinstance(body, str):
        line = body.count("\n", 0, offset) + 1
        column = offset - (body.rfind("\n", 0, offset) + 1) + 1
        why = f"{why} at line {line}, column {column}"
    return ApiError(422, "invalid_request", "body", f"not valid JSON: {why}")


def _validation_error(exc: RequestValidationError) -> ApiError:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    if first.get("type") == "json_invalid":
        return _json_problem(first, getattr(exc, "body", None))
    loc = [str(part) for part in first.get("loc", ())]
    field = ".".join(loc[1:]) if len(loc) > 1 else (loc[0] if loc else None)
    rule = str(first.get("msg", "invalid"))
    return ApiError(422, "invalid_request", field or "body", rule)


def _json_response(request: Request, error: ApiError) -> Response:
    return JSONResponse(error.body(), status_code=error.status)


def _page_response(request: Request, error: ApiError) -> Response:
    from dagwright.web.views import error_page

    return error_page(request, error.status, printable(error.message))


def install(app: Starlette, *, api: bool = False) -> None:
    """Register the handlers turning errors into responses: JSON on the API app (``api``;
    also FastAPI's request validation errors, which imports FastAPI), an error page on the
    pages app."""
    respond = _json_response if api else _page_response

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return respond(request, exc)

    async def on_dagwright(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DagwrightError)
        return await on_api_error(request, from_dagwright(exc))

    async def on_validation(request: Request, exc: Exception) -> Response:
        from fastapi.exceptions import RequestValidationError

        assert isinstance(exc, RequestValidationError)
        return await on_api_error(request, _validation_error(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 400:  # a body that cannot be parsed (not UTF-8 …): bad input
            error = ApiError(422, "invalid_request", "body", str(exc.detail))
        else:
            kind = "not_found" if exc.status_code == 404 else "http_error"
            error = ApiError(exc.status_code, kind, None, str(exc.detail))
        response = await on_api_error(request, error)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(DagwrightError, on_dagwright)
    app.add_exception_handler(HTTPException, on_http)
    if api:
        from fastapi.exceptions import RequestValidationError

        app.add_exception_handler(RequestValidationError, on_validation)
