"""``/api/jobs``: list, read and replace job configs, trigger runs, page history, revisions."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Body, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from grove_jobs.auth.audit import revision_changes
from grove_jobs.configs.query import ConfigQuery, ConfigView, last_runs, list_configs
from grove_jobs.configs.revisions import list_revisions
from grove_jobs.configs.store import create_config, get_config, update_config
from grove_jobs.db.records import execution_json
from grove_jobs.demo import MOCK_HEALTH_CHECK
from grove_jobs.engine.enqueue import run_now
from grove_jobs.exceptions import AlreadyExists, FieldError, NotFound, ValidationFailed
from grove_jobs.executions.queries import execution_by_api_request, execution_history
from grove_jobs.executions.redact import shown_to
from grove_jobs.observability import traces
from grove_jobs.schema.execution import ExecutionStatus
from grove_jobs.schema.grove_object import GroveObject, parse_grove_object
from grove_jobs.schema.limits import walk_strings
from grove_jobs.schema.meta import SLUG_PATTERN
from scheduler.api.auth import Principal, current_principal, rate_limited
from scheduler.api.context import ApiContext, get_context
from scheduler.api.models import (
    ConflictOut,
    ErrorOut,
    ExecutionOut,
    ExecutionPageOut,
    JobListOut,
    JobOut,
    RevisionListOut,
    TriggerByIdIn,
    TriggerIn,
    ValidationErrorOut,
)
from scheduler.api.routes import RouteTable

routes = RouteTable(tags=["jobs"])

JOB_TYPE = "job-config"
MAX_ID = 2**63 - 1  # larger ids cannot exist, and SQLite cannot even bind them
_SLUG = re.compile(SLUG_PATTERN)
_ETAG = re.compile(r'^(?:W/)?"?([0-9]{1,9})"?$')
IF_MATCH_PATTERN = r'^\s*(\*|(W/)?"?[0-9]{1,9}"?)\s*$'  # malformed values fail validation: 422

Ctx = Annotated[ApiContext, Depends(get_context)]
Caller = Annotated[Principal, Depends(current_principal)]
ConfigId = Annotated[str, Path(description="The config's slug, e.g. mock-health-check")]
TraceParent = Annotated[
    str | None,
    Header(
        description="W3C Trace Context: the run's attempts become spans of this trace "
        "(a malformed value is ignored, as the specification asks).",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="Any printable ASCII key (1-100 chars). Repeating a trigger with the same key "
        "and token returns the execution the first call created instead of starting another.",
    ),
]

E401 = {401: {"model": ErrorOut, "description": "Missing, invalid, expired or revoked token"}}
E403 = {403: {"model": ErrorOut, "description": "The token lacks the route's scope"}}
E404 = {404: {"model": ErrorOut, "description": "No such job config"}}
E422 = {422: {"model": ValidationErrorOut, "description": "Invalid input, by field path"}}
AUTH = {**E401, **E403}
E429 = {429: {"model": ErrorOut, "description": "Trigger rate limit; see Retry-After"}}

# The original design's mock config, with a title, as the OpenAPI example.
EXAMPLE = {**MOCK_HEALTH_CHECK, "meta": {**MOCK_HEALTH_CHECK["meta"], "title": "Mock Health Check"}}


# --------------------------------------------------------------------------- helpers


def is_slug(value: str) -> bool:
    return bool(_SLUG.fullmatch(value)) and "--" not in value


def unstorable(value: Any, path: str) -> list[FieldError]:
    """Strings no database can keep as given: NUL (PostgreSQL text and JSONB reject it) and
    lone surrogates (not encodable as UTF-8). Refused up front as 422, not stored mangled.
    Nesting deeper than MAX_DEPTH is refused too (ValidationFailed), without recursing."""
    errors = []
    for where, text in walk_strings(value, path):
        if "\x00" in text:
            errors.append(FieldError(where, "must not contain NUL characters"))
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            errors.append(FieldError(where, "must be valid Unicode text"))
    return errors


def job_view(ctx: ApiContext, config_id: str) -> ConfigView:
    """A job config with its last run; NotFound for other object types too."""
    if not is_slug(config_id):
        raise NotFound("job", config_id)
    record = get_config(ctx.db, config_id)
    if record.type != JOB_TYPE:
        raise NotFound("job", config_id)
    return ConfigView(record, last_runs(ctx.db, [config_id]).get(config_id))


def _job_response(view: ConfigView, status: int = 200) -> JSONResponse:
    return JSONResponse(view.to_json(), status, headers={"ETag": f'"{view.record.version}"'})


# --------------------------------------------------------------------------- read


@routes.get(
    "/api/jobs",
    summary="List job configs",
    responses={200: {"model": JobListOut}, **AUTH, **E422},
    scope="read",
)
def list_jobs(
    ctx: Ctx,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text search")] = None,
    enabled: Annotated[bool | None, Query(description="Only schedules switched on/off")] = None,
    include_archived: Annotated[bool, Query(alias="includeArchived")] = False,
) -> JSONResponse:
    """Job configs by id, each with its runtime ``state`` (version, next and last run)."""
    query = ConfigQuery(
        type=JOB_TYPE, enabled=enabled, tag=tag, text=q, include_archived=include_archived
    )
    items = [v.to_json() for v in list_configs(ctx.db, query)]
    return JSONResponse({"items": items, "total": len(items)})


@routes.get(
    "/api/jobs/{config_id}",
    summary="Read one job config",
    responses={200: {"model": JobOut}, **AUTH, **E404},
    scope="read",
)
def get_job(ctx: Ctx, config_id: ConfigId) -> JSONResponse:
    """The config as GroveObject JSON plus ``state``; the ``ETag`` is its version."""
    return _job_response(job_view(ctx, config_id))


# --------------------------------------------------------------------------- write


def _expected_version(if_match: str) -> int | None:
    value = if_match.strip()
    if value == "*":
        return None  # RFC 9110: any current version; opts out of the conflict check
    match = _ETAG.fullmatch(value)
    if match is None:  # the header's pattern already refused it; belt and braces
        raise ValidationFailed([FieldError("header.if-match", 'expected a version such as "3"')])
    return int(match.group(1))


def _object_for(config_id: str, body: dict[str, Any]) -> GroveObject:
    data = {k: v for k, v in body.items() if k != "state"}  # GET's runtime state, read-only
    errors = unstorable(data, "")
    meta = data.get("meta")
    if isinstance(meta, dict):
        meta = data["meta"] = {"id": config_id, "type": JOB_TYPE, **meta}
        if meta["id"] != config_id:
            errors.append(FieldError("meta.id", f"must match the id in the URL ({config_id!r})"))
        if meta["type"] != JOB_TYPE:
            errors.append(FieldError("meta.type", f"this endpoint stores {JOB_TYPE} objects"))
    if errors:
        raise ValidationFailed(errors)
    return parse_grove_object(data)


@routes.put(
    "/api/jobs/{config_id}",
    summary="Replace a job config",
    responses={
        200: {"model": JobOut, "description": "Saved (a new version and revision)"},
        201: {"model": JobOut, "description": "Created (with If-None-Match: *)"},
        400: {"model": ErrorOut, "description": "Both If-Match and If-None-Match sent"},
        409: {"model": ConflictOut, "description": "Stale If-Match: both versions included"},
        412: {"model": ErrorOut, "description": "If-None-Match: * but the id exists"},
        428: {"model": ErrorOut, "description": "If-Match is required to update"},
        **AUTH,
        **E404,
        **E422,
    },
    scope="write",
)
def put_job(
    ctx: Ctx,
    caller: Caller,
    config_id: ConfigId,
    body: Annotated[
        dict[str, Any],
        Body(
            description="GroveObject JSON (meta + payload). meta.id and meta.type default to "
            "the URL's id and job-config; a `state` key, as GET returns it, is ignored.",
            openapi_examples={"mock-health-check": {"value": EXAMPLE}},
        ),
    ],
    if_match: Annotated[
        str | None,
        Header(
            pattern=IF_MATCH_PATTERN,
            description='The version being edited, as GET\'s ETag ("3"); `*` skips the check',
        ),
    ] = None,
    if_none_match: Annotated[
        str | None,
        Header(pattern=r"^\s*\*\s*$", description="`*` to create a config that must not exist yet"),
    ] = None,
) -> JSONResponse:
    """Validate and store a new version, recorded as a revision with source ``api`` and the
    token as actor. Saving an unchanged document creates no version."""
    if if_match is not None and if_none_match is not None:
        raise HTTPException(400, "send either If-Match (update) or If-None-Match: * (create)")
    if if_match is None and if_none_match is None:
        raise HTTPException(
            428, 'If-Match is required: send the version you edited (GET\'s ETag), e.g. "3"'
        )
    expected = _expected_version(if_match) if if_match is not None else None
    if not is_slug(config_id):
        raise NotFound("job", config_id)
    obj = _object_for(config_id, body)
    if if_none_match is not None:
        try:
            create_config(ctx.db, obj, actor=caller.actor, source="api")
        except AlreadyExists as exc:
            raise HTTPException(412, f"config {config_id!r} already exists") from exc
        return _job_response(job_view(ctx, config_id), 201)
    current = get_config(ctx.db, config_id)
    if current.type != JOB_TYPE:
        raise NotFound("job", config_id)
    update_config(ctx.db, obj, expected_version=expected, actor=caller.actor, source="api")
    return _job_response(job_view(ctx, config_id))


# --------------------------------------------------------------------------- trigger

TRIGGER_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": ExecutionOut, "description": "Queued; Location names the execution"},
    200: {"model": ExecutionOut, "description": "Repeated Idempotency-Key: the same execution"},
    409: {
        "model": ErrorOut,
        "description": "Idempotency-Key reused with other parameters or on another job",
    },
    **AUTH,
    **E404,
    **E422,
    **E429,
}


def _refuse_key_of_another_job(ctx: ApiContext, request_id: str, config_id: str) -> None:
    earlier = execution_by_api_request(ctx.db, request_id)
    if earlier is not None and earlier.job_config_id != config_id:
        raise HTTPException(
            409,
            f"this Idempotency-Key was already used on job {earlier.job_config_id!r} "
            f"(execution {earlier.id}); use a new key for another job",
        )


def trigger(
    ctx: ApiContext,
    caller: Principal,
    config_id: str,
    parameters: dict[str, Any] | None,
    idempotency_key: str | None,
    traceparent: str | None = None,
) -> JSONResponse:
    """Queue a run (or return the one this token's Idempotency-Key already queued); a valid
    ``traceparent`` header makes its attempts part of the caller's trace."""
    if not is_slug(config_id):
        raise NotFound("job", config_id)
    errors = unstorable(parameters or {}, "parameters")
    if errors:
        raise ValidationFailed(errors)
    # Keys are scoped per token (two clients that happen to pick the same key never share or
    # see each other's runs) and span every job: a key names one request, on one job.
    request_id = f"api:{caller.token.id}:{idempotency_key}" if idempotency_key else None
    if request_id is not None:
        _refuse_key_of_another_job(ctx, request_id, config_id)
    at = ctx.clock()
    try:
        execution = run_now(
            ctx.db,
            config_id,
            requested_by=caller.actor,
            request_id=request_id,
            parameter_overrides=parameters or None,
            trigger="api",
            at=at,
            allow_destructive="write" in caller.token.scopes,
            trace_parent=traces.valid_traceparent(traceparent),
        )
    except IntegrityError:
        # The same key was just used on another job by a concurrent request: the partial
        # unique index refused this one.
        if request_id is not None:
            _refuse_key_of_another_job(ctx, request_id, config_id)
        raise
    created = execution.queued_at == at  # an earlier call's row keeps its own queued_at
    if not created and (execution.parameter_overrides or None) != (parameters or None):
        raise HTTPException(409, "this Idempotency-Key was already used with different parameters")
    return JSONResponse(
        execution_json(shown_to(execution, full_errors=caller.sees_tracebacks)),
        202 if created else 200,
        headers={"Location": f"/api/executions/{execution.id}"},
    )


@routes.post(
    "/api/jobs/trigger",
    summary="Trigger a run (config id in the body)",
    status_code=202,
    responses=TRIGGER_RESPONSES,
    scope="run",
)
def trigger_by_body(
    ctx: Ctx,
    caller: Caller,
    body: TriggerByIdIn,
    _: Annotated[None, Depends(rate_limited)],
    idempotency_key: IdempotencyKey = None,
    traceparent: TraceParent = None,
) -> JSONResponse:
    """Same as ``POST /api/jobs/{id}/trigger`` with the id as ``jobConfigId``."""
    return trigger(ctx, caller, body.jobConfigId, body.parameters, idempotency_key, traceparent)


@routes.post(
    "/api/jobs/{config_id}/trigger",
    summary="Trigger a run",
    status_code=202,
    responses=TRIGGER_RESPONSES,
    scope="run",
)
def trigger_job(
    ctx: Ctx,
    caller: Caller,
    config_id: ConfigId,
    _: Annotated[None, Depends(rate_limited)],
    body: TriggerIn | None = None,
    idempotency_key: IdempotencyKey = None,
    traceparent: TraceParent = None,
) -> JSONResponse:
    """Queue a run now; the execution records ``token:<name>`` as who requested it."""
    parameters = body.parameters if body else None
    return trigger(ctx, caller, config_id, parameters, idempotency_key, traceparent)


# --------------------------------------------------------------------------- history


@routes.get(
    "/api/jobs/{config_id}/executions",
    summary="Execution history of a job",
    responses={200: {"model": ExecutionPageOut}, **AUTH, **E404, **E422},
    scope="read",
)
def list_job_executions(
    ctx: Ctx,
    caller: Caller,
    request: Request,
    config_id: ConfigId,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only executions older than this id")
    ] = None,
    status: Annotated[list[ExecutionStatus] | None, Query()] = None,
) -> JSONResponse:
    """Newest first, keyset-paged: follow ``next`` (also sent as a ``Link`` header)."""
    job_view(ctx, config_id)
    statuses = [s.value for s in status or []]
    page = execution_history(
        ctx.db, config_id, limit=limit, before_id=before, statuses=statuses or None
    )
    body: dict[str, Any] = {
        "items": [
            execution_json(shown_to(e, full_errors=caller.sees_tracebacks)) for e in page.items
        ],
        "total": page.total,
        "next": None,
    }
    headers = {}
    if page.next_before_id is not None:
        query = urlencode(
            [("limit", limit), ("before", page.next_before_id)] + [("status", s) for s in statuses]
        )
        root = request.scope.get("root_path", "")
        body["next"] = f"{root}/api/jobs/{config_id}/executions?{query}"
        headers["Link"] = f'<{body["next"]}>; rel="next"'
    return JSONResponse(body, headers=headers)


@routes.get(
    "/api/jobs/{config_id}/revisions",
    summary="Change history of a job config",
    responses={200: {"model": RevisionListOut}, **AUTH, **E404, **E422},
    scope="read",
)
def list_job_revisions(
    ctx: Ctx, config_id: ConfigId, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> JSONResponse:
    """Who changed what, when and from where (ui, cli, api), newest first, field by field.
    Kept after a config is deleted."""
    if not is_slug(config_id):
        raise NotFound("job", config_id)
    revisions = list_revisions(ctx.db, config_id, limit=limit)
    if not revisions:
        job_view(ctx, config_id)  # 404 unless the config exists (with no history yet)
    items = [
        {
            **r.model_dump(mode="json", by_alias=True, exclude={"before", "after"}),
            "changes": [c.to_json() for c in revision_changes(r)],
        }
        for r in revisions
    ]
    return JSONResponse({"items": items})
