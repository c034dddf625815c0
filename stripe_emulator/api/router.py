"""Answer one API request as Stripe does: routing, idempotency keys, errors, lists and `expand`.

Resource modules register their endpoints with `route` (or `resource` for plain
create/retrieve/update/list); `dispatch` finds the handler, runs it as one atomic step of the
emulator (a plain retrieve as a read, without the lock), and renders its answer: internal keys
dropped, `expand` applied, lists paged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stripe_emulator.api.params import as_int, params_decode
from stripe_emulator.core import Emulator, ResourceMissing, request_id_new
from stripe_emulator.objects import API_VERSION, INCLUDABLE, Obj, list_object, public

logger = logging.getLogger(__name__)

Params = dict[str, Any]
Handler = Callable[..., Any]


class ApiError(Exception):
    """An answer in Stripe's error shape (`{"error": {...}}`) with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: Obj | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: Obj = {"message": message, "type": error_type}
        if code:
            self.body["code"] = code
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            self.body["param"] = param
        self.body.update(extra or {})


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    listing: bool


@dataclass
class Response:
    status: int
    body: Obj
    headers: dict[str, str] = field(default_factory=dict)


ROUTES: list[Route] = []
# Handlers that only read: they run without the store's lock (`Emulator.read_step`).
READS_ONLY: set[Handler] = set()
# Fields Stripe leaves out unless expanded, and how to build each: (object type, field) -> fn.
INCLUDERS: dict[tuple[str, str], Callable[[Emulator, Obj], Obj]] = {}


def route(
    method: str, template: str, *, listing: bool = False, reads_only: bool = False
) -> Callable[[Handler], Handler]:
    """Register `handler(emulator, params, *path_ids)` for `METHOD /v1/...{id}...`
    (`reads_only`: it changes nothing, not even on first use).

    A listing handler returns the matching objects (any order); `dispatch` sorts them newest
    first, applies `created` and paging, and wraps them in a list object.
    """
    regex = re.compile("^" + re.sub(r"\{\w+\}", r"([^/]+)", template) + "$")

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method.upper(), regex, handler, listing))
        if reads_only:
            READS_ONLY.add(handler)
        return handler

    return register


def includer(kind: str, name: str) -> Callable[[Callable[[Emulator, Obj], Obj]], Any]:
    """Register how to build an includable field (e.g. a charge's `refunds`) when expanded."""
    assert name in INCLUDABLE.get(kind, set()), f"declare {kind}.{name} in objects.INCLUDABLE"

    def register(fn: Callable[[Emulator, Obj], Obj]) -> Callable[[Emulator, Obj], Obj]:
        INCLUDERS[(kind, name)] = fn
        return fn

    return register


def ref(value: Any) -> Any:
    """Return the id of an expandable field's value (an id already, or an object)."""
    return value["id"] if isinstance(value, dict) and "id" in value else value


def resource(
    path: str,
    kind: str,
    *,
    create: Callable[[Emulator, Params], Obj] | None = None,
    update: Callable[[Emulator, Obj, Params], Obj] | None = None,
    filters: tuple[str, ...] = (),
    lister: Callable[[Emulator, Params], list[Obj]] | None = None,
) -> None:
    """Register retrieve and list (filtered on `filters` by equality, or by `lister`), and
    create/update if given."""

    @route("GET", f"/v1/{path}/{{id}}", reads_only=True)
    def retrieve(emulator: Emulator, params: Params, object_id: str) -> Obj:
        return emulator.get(object_id, kind)

    @route("GET", f"/v1/{path}", listing=True)
    def listing(emulator: Emulator, params: Params) -> list[Obj]:
        if lister is not None:
            return lister(emulator, params)
        wanted = {name: params[name] for name in filters if name in params}
        return [
            obj
            for obj in emulator.store.scan(kind)
            if all(str(ref(obj.get(name))) == value for name, value in wanted.items())
        ]

    if create is not None:
        route("POST", f"/v1/{path}")(create)
    if update is not None:
        fn = update

        @route("POST", f"/v1/{path}/{{id}}")
        def modify(emulator: Emulator, params: Params, object_id: str) -> Obj:
            return fn(emulator, emulator.get(object_id, kind), params)


def metadata_merge(obj: Obj, params: Params) -> None:
    """Apply `metadata[...]` as Stripe does: new keys added, empty values delete a key."""
    for key, value in (params.get("metadata") or {}).items():
        if value == "":
            obj["metadata"].pop(key, None)
        else:
            obj["metadata"][key] = value


# --- answering ---------------------------------------------------------------------------------


def dispatch(
    emulator: Emulator,
    *,
    method: str,
    path: str,
    query: str = "",
    body: str = "",
    idempotency_key: str | None = None,
) -> Response:
    """Answer one request; never raises for a bad request (Stripe's error shape instead)."""
    if emulator.latency:
        time.sleep(emulator.latency)  # outside the lock: concurrent callers wait in parallel
    method = method.upper()
    params = {**params_decode(query), **params_decode(body)}
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            return _dispatch_once(emulator, method, path, params, idempotency_key)
        except emulator.store_errors as error:
            # A step undone whole by its store (a deadlock in the caller's database, when the
            # step was its own transaction) is run again, as a client retries Stripe's 409s.
            if attempt == STORE_ATTEMPTS or not emulator.store_error_retryable(error):
                raise
            logger.info("the emulator's store undid %s %s; running it again", method, path)
    raise AssertionError("unreachable")


STORE_ATTEMPTS = 3


def _dispatch_once(
    emulator: Emulator, method: str, path: str, params: Params, idempotency_key: str | None
) -> Response:
    request_id = request_id_new()
    headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
    try:
        handler, listing, ids = _find(method, path)
        if handler in READS_ONLY:
            with emulator.read_step():
                answer = _answer(emulator, handler, listing, ids, params, path)
            return Response(200, answer, headers)
        with emulator.step():
            replay = _idempotent_replay(emulator, method, path, params, idempotency_key)
            if replay is not None:
                headers["Idempotent-Replayed"] = "true"
                return Response(replay["status"], replay["body"], headers)
            emulator.request_context = {"id": request_id, "idempotency_key": idempotency_key}
            try:
                answer = _answer(emulator, handler, listing, ids, params, path)
                response = Response(200, answer, headers)
            except ApiError as error:
                response = Response(error.status, {"error": error.body}, headers)
            finally:
                emulator.request_context = {"id": None, "idempotency_key": None}
            _idempotent_keep(emulator, method, path, params, idempotency_key, response)
            return response
    except ResourceMissing as missing:
        absent = ApiError(404, str(missing), code="resource_missing", param="id")
        return Response(404, {"error": absent.body}, headers)
    except ApiError as error:
        return Response(error.status, {"error": error.body}, headers)
    except emulator.store_errors:
        raise
    except Exception as error:  # a bug of the emulator: answer as Stripe answers its own
        logger.exception("the emulator failed on %s %s", method, path)
        failure = ApiError(
            500,
            f"An error occurred with our connection to Stripe: {error!r}",
            error_type="api_error",
        )
        return Response(500, {"error": failure.body}, headers)


def _find(method: str, path: str) -> tuple[Handler, bool, tuple[str, ...]]:
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        match = candidate.pattern.match(path)
        if match:
            return candidate.handler, candidate.listing, match.groups()
    raise ApiError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
        "we can help at https://support.stripe.com/.",
    )


def _answer(
    emulator: Emulator,
    handler: Handler,
    listing: bool,
    ids: tuple[str, ...],
    params: Params,
    path: str,
) -> Obj:
    expand = params.get("expand") or []
    if isinstance(expand, str):
        expand = [expand]
    result = handler(emulator, params, *ids)
    if not listing:
        return render(emulator, result, expand)
    page = _page(_created_filter(result, params.get("created")), params)
    envelope = list_object([public(o) for o in page.items], url=path, has_more=page.has_more)
    for item_path in expand:
        if not item_path.startswith("data."):
            raise ApiError(400, f"This property cannot be expanded ({item_path}).", param="expand")
        for item in envelope["data"]:
            _expand(emulator, item, item_path.split(".")[1:])
    return envelope


def render(emulator: Emulator, obj: Obj, expand: list[str]) -> Obj:
    """Return `obj` as the API shows it, with the `expand` paths expanded."""
    shown: Obj = public(obj)
    for item_path in expand:
        _expand(emulator, shown, item_path.split("."))
    return shown


def _expand(emulator: Emulator, obj: Obj, parts: list[str]) -> None:
    name, rest = parts[0], parts[1:]
    builder = INCLUDERS.get((str(obj.get("object")), name))
    if name not in obj and builder is not None:
        stored = emulator.store.get(str(obj.get("id"))) or obj  # with its internal keys
        obj[name] = public(builder(emulator, stored))
    if name not in obj:
        raise ApiError(400, f"This property cannot be expanded ({name}).", param="expand")
    value = obj[name]
    if isinstance(value, str):
        value = public(emulator.get(value))
        obj[name] = value
    if not rest or value is None:
        return
    items = value
    if isinstance(value, dict) and value.get("object") == "list":
        # Through a list to its items: `refunds.data.balance_transaction`, as Stripe spells it.
        if rest[0] != "data":
            raise ApiError(400, f"This property cannot be expanded ({rest[0]}).", param="expand")
        items, rest = value["data"], rest[1:]
        if not rest:
            return
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, dict):
            _expand(emulator, item, rest)


@dataclass(frozen=True)
class _Page:
    items: list[Obj]
    has_more: bool


def _created_filter(objects: list[Obj], created: Any) -> list[Obj]:
    if created is None:
        return objects
    if not isinstance(created, dict):
        created = {"eq": created}
    tests = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
        "eq": lambda a, b: a == b,
    }
    bounds = {op: as_int(value, name=f"created[{op}]") for op, value in created.items()}
    unknown = set(bounds) - set(tests)
    if unknown:
        raise ApiError(400, f"Received unknown parameter: created[{unknown.pop()}]")
    return [o for o in objects if all(tests[op](o["created"], b) for op, b in bounds.items())]


def _page(objects: list[Obj], params: Params) -> _Page:
    # Newest first; among equal `created`, the later one first (Stripe's order).
    ordered = [obj for _, obj in sorted(enumerate(objects), key=lambda p: (p[1]["created"], p[0]))]
    ordered.reverse()
    limit = as_int(params.get("limit", 10), name="limit")
    if not 1 <= limit <= 100:
        raise ApiError(400, "Invalid limit: must be between 1 and 100", param="limit")
    ids = [obj["id"] for obj in ordered]
    if "starting_after" in params:
        cursor = params["starting_after"]
        if cursor not in ids:
            raise ResourceMissing("object", cursor)
        ordered = ordered[ids.index(cursor) + 1 :]
    elif "ending_before" in params:
        cursor = params["ending_before"]
        if cursor not in ids:
            raise ResourceMissing("object", cursor)
        before = ordered[: ids.index(cursor)]
        return _Page(before[-limit:], len(before) > limit)
    return _Page(ordered[:limit], len(ordered) > limit)


# --- idempotency -------------------------------------------------------------------------------


def _key_id(key: str) -> str:
    return "idem_" + hashlib.sha256(key.encode()).hexdigest()[:40]


def _fingerprint(method: str, path: str, params: Params) -> str:
    return hashlib.sha256(json.dumps([method, path, params], sort_keys=True).encode()).hexdigest()


def _idempotent_replay(
    emulator: Emulator, method: str, path: str, params: Params, key: str | None
) -> Obj | None:
    if (method != "POST" and method != "DELETE") or not key:
        return None
    record = emulator.store.get(_key_id(key))
    if record is None:
        return None
    if record["fingerprint"] != _fingerprint(method, path, params):
        raise ApiError(
            400,
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{key}' if you meant to execute a "
            "different request.",
            error_type="idempotency_error",
        )
    return record


def _idempotent_keep(
    emulator: Emulator,
    method: str,
    path: str,
    params: Params,
    key: str | None,
    response: Response,
) -> None:
    if (method != "POST" and method != "DELETE") or not key or response.status >= 500:
        return
    record: Obj = dict(
        id=_key_id(key),
        object="emulator.idempotency_key",
        created=emulator.now(),
        fingerprint=_fingerprint(method, path, params),
        status=response.status,
        body=response.body,
    )
    emulator.save(record)
