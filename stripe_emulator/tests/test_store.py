"""The emulator's memory store hands out copies: a caller changing what it read (as the API's
handlers do before answering) never changes what Stripe holds."""

from typing import Any

from stripe_emulator.objects import template
from stripe_emulator.store import MemoryStore, tree_copy


def test_a_copy_equals_the_object_and_shares_none_of_its_dicts_or_lists():
    original = template("payment_intent")
    copied = tree_copy(original)

    assert copied == original
    assert list(copied) == list(original)  # Stripe's key order is kept

    def containers(value, path="$"):
        if isinstance(value, dict | list):
            yield path, value
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                yield from containers(item, f"{path}.{key}")

    theirs = dict(containers(original))
    shared = [path for path, value in containers(copied) if value is theirs[path]]
    assert shared == []


def test_what_is_read_and_changed_leaves_the_stored_object_as_it_was():
    store = MemoryStore()
    stored: dict[str, Any] = {
        "id": "pi_1",
        "object": "payment_intent",
        "metadata": {"a": "1"},
        "list": [{"x": 1}],
    }
    store.put(stored)
    stored["metadata"]["a"] = "changed by the caller after put"

    read = store.get("pi_1")
    assert read is not None
    read["metadata"]["b"] = "2"
    read["list"][0]["x"] = 2
    store.scan("payment_intent")[0]["list"].append({})

    assert store.get("pi_1") == {
        "id": "pi_1",
        "object": "payment_intent",
        "metadata": {"a": "1"},
        "list": [{"x": 1}],
    }
