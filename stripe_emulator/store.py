"""Where the emulator keeps its objects: in memory (tests), or anywhere that honours `Store`.

The demo provider keeps them in the database (its own `Store`), so that the web process and the
worker see one Stripe. Objects are plain dicts in Stripe's shape; keys starting with "_" are the
emulator's own bookkeeping and never leave it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

Obj = dict[str, Any]


def tree_copy(value: Any) -> Any:
    """Copy an object in Stripe's shape: its dicts and lists anew, its strings, numbers and
    None as they are (immutable). A quarter of `copy.deepcopy`'s time, which also looks for
    cycles and shared parts Stripe's objects never have: every API read copies an object."""
    if type(value) is dict:
        return {key: tree_copy(item) for key, item in value.items()}
    if type(value) is list:
        return [tree_copy(item) for item in value]
    return value


class Store(Protocol):
    """What the emulator needs from storage. Every call of the emulator runs inside `locked()`."""

    def get(self, object_id: str) -> Obj | None:
        """Return a copy of the object, or None."""
        ...

    def put(self, obj: Obj) -> None:
        """Insert or replace the object (keyed on its `id`; insertion order is kept)."""
        ...

    def scan(self, object_type: str, *, start: int = 0) -> list[Obj]:
        """Return copies of every object of one type, oldest first (from the `start`-th on)."""
        ...

    def count(self, object_type: str) -> int:
        """Return how many objects of one type there are."""
        ...

    def delete(self, object_id: str) -> None:
        """Forget the object (Stripe deletes few things: webhook endpoints, customers)."""
        ...

    def locked(self) -> Any:
        """Return a context manager that makes the calls inside it one atomic step."""
        ...


class MemoryStore:
    """A `Store` in this process's memory, safe to share between threads."""

    def __init__(self) -> None:
        self._objects: dict[str, Obj] = {}
        self._by_type: dict[str, list[str]] = {}
        self._lock = threading.RLock()

    def get(self, object_id: str) -> Obj | None:
        with self._lock:
            found = self._objects.get(object_id)
            return tree_copy(found) if found is not None else None

    def put(self, obj: Obj) -> None:
        with self._lock:
            object_id = obj["id"]
            if object_id not in self._objects:
                self._by_type.setdefault(obj["object"], []).append(object_id)
            self._objects[object_id] = tree_copy(obj)

    def scan(self, object_type: str, *, start: int = 0) -> list[Obj]:
        with self._lock:
            ids = self._by_type.get(object_type, [])[start:]
            return [tree_copy(self._objects[i]) for i in ids]

    def count(self, object_type: str) -> int:
        with self._lock:
            return len(self._by_type.get(object_type, []))

    def kinds(self) -> list[str]:
        """Return the object types stored so far."""
        with self._lock:
            return [kind for kind, ids in self._by_type.items() if ids]

    def delete(self, object_id: str) -> None:
        with self._lock:
            found = self._objects.pop(object_id, None)
            if found is not None:
                self._by_type[found["object"]].remove(object_id)

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield
