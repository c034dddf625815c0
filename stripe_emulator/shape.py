"""The shape check: an object or event compared field by field with the stripe library's own
classes for the pinned API version, and with Stripe's example objects.

A field the library's class does not have (Stripe no longer sends it), a value of the wrong type
or outside the field's documented values, a field of the example that is missing, an includable
field sent without being asked for (a charge's `refunds`), an event type Stripe does not have,
or an event whose object is of the wrong type: each is reported as one line.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import stripe
from stripe._object_classes import OBJECT_CLASSES
from stripe._stripe_object import StripeObject

from stripe_emulator.objects import FIXTURES, INCLUDABLE, Obj

_NONE = type(None)
# Event types whose object is not named by the type's prefix.
EVENT_OBJECTS = {
    "customer.subscription": "subscription",
    "charge.dispute": "dispute",
    "charge.refund": "refund",
}


@functools.cache
def _module_namespace(name: str) -> dict[str, Any]:
    """Return a module's globals plus its `if TYPE_CHECKING:` imports (for forward refs)."""
    module = sys.modules[name]
    namespace = dict(vars(module))
    namespace.setdefault("StripeObject", StripeObject)
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            code = compile(ast.Module(body=node.body, type_ignores=[]), name, "exec")
            exec(code, namespace)  # noqa: S102 - the library's own import statements
    return namespace


@functools.cache
def field_hints(cls: type) -> dict[str, Any]:
    """Return the fields of a stripe class (its annotated attributes) with resolved types."""
    hints = typing.get_type_hints(
        cls, globalns=_module_namespace(cls.__module__), localns=dict(vars(cls))
    )
    return {
        name: hint
        for name, hint in hints.items()
        if not name.startswith("_")
        and name != "OBJECT_NAME"
        and typing.get_origin(hint) is not typing.ClassVar
    }


def class_for(object_type: str) -> type | None:
    found = OBJECT_CLASSES.get(object_type)
    if found is None:
        return None
    module, name = found
    cls: type = getattr(importlib.import_module(module), name)
    return cls


@functools.cache
def event_types() -> frozenset[str]:
    """Return every event type of the pinned version (the webhook endpoint's `enabled_events`)."""
    source = Path(stripe.__file__).parent / "params" / "_webhook_endpoint_create_params.py"
    text = source.read_text()
    block = text[text.index("    enabled_events: List[") :]
    block = block[: block.index("\n    ]\n")]
    return frozenset(re.findall(r'"([a-z_.*]+)"', block)) - {"*"}


def event_object_type(event_type: str) -> str:
    prefix = event_type.rsplit(".", 1)[0]
    for start, object_type in EVENT_OBJECTS.items():
        if prefix.startswith(start):
            return object_type
    return prefix


def check_object(obj: Obj, *, expanded: bool = False) -> list[str]:
    """Return the problems of one API object (empty when it is in the pinned version's shape)."""
    object_type = str(obj.get("object"))
    cls = class_for(object_type)
    if cls is None:
        return [f"{object_type}: not an object type of the stripe library"]
    problems = _check(obj, cls, object_type)
    if not expanded:
        for name in INCLUDABLE.get(object_type, set()) & set(obj):
            problems.append(f"{object_type}.{name}: sent although only included when expanded")
    example = FIXTURES.get(object_type)
    if example is not None:
        problems += _missing(obj, example, cls, object_type, INCLUDABLE.get(object_type, set()))
    return problems


def check_event(event: Obj) -> list[str]:
    """Return the problems of one event: the envelope, its type, and its object."""
    problems = _check(event, stripe.Event, "event")
    event_type = str(event.get("type"))
    where = f"event {event_type}"
    if event_type not in event_types():
        problems.append(f"{where}: not an event type of the pinned version")
    data = event.get("data") or {}
    obj = data.get("object") or {}
    expected = event_object_type(event_type)
    if event_type in event_types() and obj.get("object") != expected:
        problems.append(f"{where}: carries a {obj.get('object')}, not a {expected}")
    problems += [f"{where}: {p}" for p in check_object(obj)]
    previous = data.get("previous_attributes")
    if event_type.endswith(".updated") and not previous:
        problems.append(f"{where}: an update without previous_attributes")
    for name in previous or {}:
        if name not in obj:
            problems.append(f"{where}: previous_attributes.{name} is not a field of the object")
    return problems


def _check(value: Any, hint: Any, where: str) -> list[str]:
    if hint is Any:
        return []
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _check_union(value, args, where)
    if origin is typing.Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {list(args)}"]
    if hint is _NONE:
        return [] if value is None else [f"{where}: expected null"]
    if hint in (str, int, float, bool):
        return _check_scalar(value, hint, where)
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in _check(item, args[0], f"{where}[{i}]")]
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            return [f"{where}: expected a map, got {type(value).__name__}"]
        return [p for k, v in value.items() for p in _check(v, args[1], f"{where}.{k}")]
    base = origin or hint
    if isinstance(base, type) and issubclass(base, StripeObject):
        return _check_stripe_object(value, base, args, where)
    return []


def _check_union(value: Any, args: tuple[Any, ...], where: str) -> list[str]:
    literals = [a for a in args if typing.get_origin(a) is typing.Literal]
    if isinstance(value, str) and literals:
        # An enum that also admits str (for values added later): hold us to the documented ones.
        allowed = [v for a in literals for v in typing.get_args(a)]
        if value in allowed or not any(a is str for a in args):
            return [] if value in allowed else [f"{where}: {value!r} is not one of {allowed}"]
        return [f"{where}: {value!r} is not one of {allowed}"]
    attempts = [_check(value, arm, where) for arm in args]
    if any(not problems for problems in attempts):
        return []
    return min(attempts, key=len)


def _check_scalar(value: Any, hint: type, where: str) -> list[str]:
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return []
    if isinstance(value, bool) and hint is not bool:
        return [f"{where}: expected {hint.__name__}, got a boolean"]
    if not isinstance(value, hint):
        return [f"{where}: expected {hint.__name__}, got {type(value).__name__} {value!r}"]
    return []


def _check_stripe_object(value: Any, cls: type, args: tuple[Any, ...], where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected an object ({cls.__name__}), got {type(value).__name__}"]
    name = cls.__name__
    if name in ("ListObject", "SearchResultObject"):
        if value.get("object") != "list" or not isinstance(value.get("data"), list):
            return [f"{where}: expected a list object"]
        item = args[0] if args else Any
        return [p for i, v in enumerate(value["data"]) for p in _check(v, item, f"{where}[{i}]")]
    if name == "UntypedStripeObject":
        item = args[0] if args else Any
        return [p for k, v in value.items() for p in _check(v, item, f"{where}.{k}")]
    fields = field_hints(cls)
    problems = [
        f"{where}.{key}: not a field of {cls.__qualname__} in the pinned version"
        for key in value
        if key not in fields
    ]
    for key, field_hint in fields.items():
        if key in value:
            problems += _check(value[key], field_hint, f"{where}.{key}")
    return problems


def _missing(obj: Obj, example: Obj, cls: type, where: str, skip: set[str]) -> list[str]:
    """Return the fields Stripe's example has (and the library knows) that `obj` lacks."""
    fields = field_hints(cls)
    problems = []
    for key, sample in example.items():
        if key in skip or key not in fields:
            continue
        if "type" in example and obj.get("type") != example["type"] and key == example["type"]:
            continue  # a sub-object named by `type` (card, sepa_debit...): only the object's own
        if key not in obj:
            problems.append(f"{where}.{key}: missing (Stripe's example object has it)")
            continue
        nested = _stripe_class(fields[key])
        if isinstance(sample, dict) and isinstance(obj[key], dict) and nested is not None:
            problems += _missing(obj[key], sample, nested, f"{where}.{key}", set())
    return problems


def _stripe_class(hint: Any) -> type | None:
    """Return the one nested StripeObject class of a field's type, if it has exactly one."""
    candidates = [hint, *typing.get_args(hint)]
    found = [
        c
        for c in candidates
        if isinstance(c, type)
        and issubclass(c, StripeObject)
        and c.__name__ not in ("ListObject", "UntypedStripeObject")
        and "." in c.__qualname__  # nested classes (Charge.Outcome), not other resources
    ]
    return found[0] if len(found) == 1 else None
