"""The shape check over everything the emulator produces: every scenario (so every flow), every
object type it stores, every event it sends, against the stripe library's classes for the
pinned API version and Stripe's example objects."""

from __future__ import annotations

import copy
import inspect
import sys
from types import FrameType
from typing import Any

import pytest

from stripe_emulator import Emulator, MemoryStore
from stripe_emulator.api import api_call
from stripe_emulator.api.router import render
from stripe_emulator.flows import cards, checkout, disputes, invoices, payments, payouts, refunds
from stripe_emulator.objects import FIXTURES, INCLUDABLE, PREFIXES
from stripe_emulator.scenarios import SCENARIOS, one_off_paid
from stripe_emulator.shape import check_event, check_object, event_types

FLOW_MODULES = [checkout, invoices, payments, refunds, cards, disputes, payouts]


def _run(name: str) -> Emulator:
    emulator = Emulator()
    SCENARIOS[name](emulator)
    return emulator


@pytest.fixture(scope="module", name="played")
def played_fixture() -> dict[str, Emulator]:
    return {name: _run(name) for name in SCENARIOS}


def _stored(emulator: Emulator) -> list[dict[str, Any]]:
    """Every object as the API shows it."""
    assert isinstance(emulator.store, MemoryStore)
    kinds = [k for k in emulator.store.kinds() if not k.startswith("emulator.")]
    return [render(emulator, obj, []) for kind in kinds for obj in emulator.store.scan(kind)]


def _expanded(emulator: Emulator) -> list[dict[str, Any]]:
    """Every object that has includable fields, with them included (`expand`)."""
    return [
        render(emulator, obj, sorted(INCLUDABLE[kind]))
        for kind in INCLUDABLE
        for obj in emulator.store.scan(kind)
    ]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_object_of_every_scenario_has_the_pinned_shape(
    played: dict[str, Emulator], name: str
) -> None:
    problems = [p for obj in _stored(played[name]) for p in check_object(obj)]
    problems += [p for obj in _expanded(played[name]) for p in check_object(obj, expanded=True)]
    assert problems == []


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_event_of_every_scenario_has_the_pinned_shape(
    played: dict[str, Emulator], name: str
) -> None:
    events = played[name].events()
    assert events
    problems = [p for event in events for p in check_event(event)]
    assert problems == []


def _object_types(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("object"), str) and value["object"] != "list":
            found.add(value["object"])
        for item in value.values():
            found |= _object_types(item)
    elif isinstance(value, list):
        for item in value:
            found |= _object_types(item)
    return found


# Object types whose flows are not written yet (remove one when its flow lands).
NOT_YET: set[str] = set()


def test_every_object_type_is_produced_by_some_scenario(played: dict[str, Emulator]) -> None:
    """Every kind of object the emulator knows is made by some scenario, so it is checked."""
    produced: set[str] = set()
    for emulator in played.values():
        produced |= _object_types(_stored(emulator)) | _object_types(_expanded(emulator))
    assert set(PREFIXES) - NOT_YET - produced == set()


def test_every_flow_function_is_played_by_some_scenario() -> None:
    """A flow added without a scenario would escape the shape check: refuse it."""
    public_flows = {
        (module.__name__, name)
        for module in FLOW_MODULES
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and fn.__module__ == module.__name__
    }
    called: set[tuple[str, str]] = set()

    def tracer(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            called.add((frame.f_globals.get("__name__", ""), frame.f_code.co_name))

    sys.setprofile(tracer)
    try:
        for name in SCENARIOS:
            _run(name)
    finally:
        sys.setprofile(None)
    assert public_flows - called == set()


def test_the_check_catches_a_field_stripe_no_longer_sends() -> None:
    """The check itself can fail: a charge with the pre-2022 `refunds` list is refused."""
    emulator = Emulator()
    charge = one_off_paid(emulator)
    stale = copy.deepcopy(charge)
    stale["refunds"] = FIXTURES["charge"]["refunds"]
    assert any("refunds" in p for p in check_object(stale))
    invented = dict(charge, subscription="sub_x")
    assert any("subscription: not a field" in p for p in check_object(invented))
    wrong_enum = dict(charge, status="paid")
    assert any("'paid' is not one of" in p for p in check_object(wrong_enum))
    missing = {k: v for k, v in charge.items() if k != "amount_captured"}
    assert any("amount_captured: missing" in p for p in check_object(missing))


def test_the_check_catches_a_wrong_event() -> None:
    emulator = Emulator()
    one_off_paid(emulator)
    event = copy.deepcopy(emulator.events()[-1])
    event["type"] = "charge.refunded_fully"
    assert any("not an event type" in p for p in check_event(event))
    event["type"] = "refund.created"
    assert any("carries a charge, not a refund" in p for p in check_event(event))
    event["type"] = "charge.updated"
    event["data"].pop("previous_attributes")
    assert any("without previous_attributes" in p for p in check_event(event))


def test_includable_fields_come_only_when_expanded() -> None:
    emulator = Emulator()
    charge = one_off_paid(emulator)
    plain = api_call(emulator, "GET", f"/v1/charges/{charge['id']}")
    assert "refunds" not in plain
    expanded = api_call(emulator, "GET", f"/v1/charges/{charge['id']}", {"expand": ["refunds"]})
    assert expanded["refunds"]["object"] == "list"
    assert check_object(expanded, expanded=True) == []
    for kind, fields in INCLUDABLE.items():
        assert fields, kind


def test_event_types_are_read_from_the_library() -> None:
    assert {"charge.refunded", "refund.failed", "invoice_payment.paid"} <= event_types()
    assert "charge.refund" not in event_types()
