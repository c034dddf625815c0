"""Webhook endpoints and the event log (`GET /v1/events`)."""

from __future__ import annotations

from stripe_emulator.api.params import as_bool
from stripe_emulator.api.router import ApiError, Params, metadata_merge, resource, route
from stripe_emulator.core import Emulator
from stripe_emulator.objects import API_VERSION, Obj, id_new


def endpoint_create(emulator: Emulator, params: Params) -> Obj:
    url = params.get("url")
    events = params.get("enabled_events")
    if not url:
        raise ApiError(400, "Missing required param: url.", param="url")
    if not events:
        raise ApiError(400, "Missing required param: enabled_events.", param="enabled_events")
    endpoint = emulator.create(
        "webhook_endpoint",
        api_version=params.get("api_version") or None,
        description=params.get("description") or None,
        enabled_events=list(events),
        status="enabled",
        url=url,
    )
    metadata_merge(endpoint, params)
    endpoint["_secret"] = id_new("whsec").replace("whsec_1", "whsec_")
    emulator.save(endpoint)
    shown = dict(endpoint)
    shown["secret"] = endpoint["_secret"]  # Stripe shows the signing secret on creation only
    return shown


def endpoint_update(emulator: Emulator, endpoint: Obj, params: Params) -> Obj:
    if "url" in params:
        endpoint["url"] = params["url"]
    if "enabled_events" in params:
        endpoint["enabled_events"] = list(params["enabled_events"])
    if "disabled" in params:
        endpoint["status"] = "disabled" if as_bool(params["disabled"]) else "enabled"
    if "description" in params:
        endpoint["description"] = params["description"] or None
    metadata_merge(endpoint, params)
    return emulator.save(endpoint)


resource(
    "webhook_endpoints",
    "webhook_endpoint",
    create=endpoint_create,
    update=endpoint_update,
)


@route("DELETE", "/v1/webhook_endpoints/{id}")
def endpoint_delete(emulator: Emulator, params: Params, endpoint_id: str) -> Obj:
    emulator.get(endpoint_id, "webhook_endpoint")
    emulator.store.delete(endpoint_id)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def events_list(emulator: Emulator, params: Params) -> list[Obj]:
    found = emulator.store.scan("event")
    types = params.get("types") or ([params["type"]] if "type" in params else None)
    if types:
        found = [
            e
            for e in found
            if any(
                e["type"] == t or (t.endswith("*") and e["type"].startswith(t[:-1])) for t in types
            )
        ]
    return found


resource("events", "event", lister=events_list)


def endpoint_wants(endpoint: Obj, event: Obj) -> bool:
    """Return whether a webhook endpoint subscribes to an event of the pinned API version."""
    if endpoint["status"] != "enabled":
        return False
    if (endpoint.get("api_version") or API_VERSION) != API_VERSION:
        return False
    enabled = endpoint["enabled_events"]
    return "*" in enabled or event["type"] in enabled
