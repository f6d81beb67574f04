"""Domain errors -> HTTP responses. Validation errors always look like
``{"detail": [{"path": "payload.schedule.cronExpression", "message": "..."}]}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from grove_jobs.exceptions import (
    AlreadyExists,
    FieldError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    VersionConflict,
)

log = logging.getLogger("grove_jobs.api")


def field_errors_response(errors: list[FieldError], status: int = 422) -> JSONResponse:
    """The one validation-error shape of the API."""
    detail = [{"path": e.path, "message": e.message} for e in errors]
    return JSONResponse({"detail": detail}, status)


def _request_path(loc: tuple[Any, ...]) -> str:
    # A body field is named by its JSON path (as ValidationFailed names it); anything else
    # keeps its location: query.limit, path.execution_id, header.idempotency-key.
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts)


async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [FieldError(_request_path(e.get("loc", ())), e.get("msg", "")) for e in exc.errors()]
    return field_errors_response(errors)


async def _validation_failed(_: Request, exc: ValidationFailed) -> JSONResponse:
    return field_errors_response(exc.errors)


async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, 404)


async def _conflict(_: Request, exc: VersionConflict) -> JSONResponse:
    body = {"detail": str(exc), "expectedVersion": exc.expected, "currentVersion": exc.actual}
    return JSONResponse(body, 409, headers={"ETag": f'"{exc.actual}"'})


async def _already_exists(_: Request, exc: AlreadyExists) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, 409)


async def _invalid_transition(_: Request, exc: InvalidTransition) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "status": exc.status}, 409)


async def _permission_denied(_: Request, exc: PermissionDenied) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, 403)


async def _database_unavailable(_: Request, exc: OperationalError) -> JSONResponse:
    log.warning("database unavailable: %s", exc.orig)
    return JSONResponse({"detail": "database unavailable; try again"}, 503, {"Retry-After": "5"})


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping on ``app``."""
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(ValidationFailed, _validation_failed)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(VersionConflict, _conflict)
    app.add_exception_handler(AlreadyExists, _already_exists)
    app.add_exception_handler(InvalidTransition, _invalid_transition)
    app.add_exception_handler(PermissionDenied, _permission_denied)
    app.add_exception_handler(OperationalError, _database_unavailable)
