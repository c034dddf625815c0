"""Stripe's form encoding of parameters (`a[b][0][c]=x`) read back into nested values."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_PART = re.compile(r"\[([^\[\]]*)\]")


def params_decode(encoded: str) -> dict[str, Any]:
    """Return the nested parameters of a query string or form body.

    `expand[0]=a&expand[1]=b` and `expand[]=a&expand[]=b` both give `{"expand": ["a", "b"]}`;
    `metadata[k]=v` gives `{"metadata": {"k": "v"}}`. Values stay strings, as Stripe reads them.
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(encoded, keep_blank_values=True):
        head = key.split("[", 1)[0]
        parts = [head, *_PART.findall(key[len(head) :])]
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":  # `name[]`: append
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    decoded: dict[str, Any] = _lists(root)
    return decoded


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def as_int(value: Any, *, name: str) -> int:
    from stripe_emulator.api.router import ApiError

    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise ApiError(400, f"Invalid integer: {value}", param=name) from error


def as_bool(value: Any) -> bool:
    return str(value).lower() == "true"


def params_encode(params: dict[str, Any]) -> str:
    """Return `params` form-encoded as the stripe library sends them (`a[b][0]=x`)."""
    from urllib.parse import urlencode

    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}[{key}]" if prefix else str(key), item)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        elif isinstance(value, bool):
            pairs.append((prefix, "true" if value else "false"))
        elif value is not None:
            pairs.append((prefix, str(value)))

    walk("", params)
    return urlencode(pairs)
