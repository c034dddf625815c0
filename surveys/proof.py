"""The arithmetic of a checkable draw, kept free of Django so anyone can re-run it.

commitment  = SHA-256(seed)                            published when entries open
fingerprint = SHA-256("\\n".join(sorted entry ids))     published when entries close
key         = seed, or SHA-256(seed || public value)   when staff added a public random value
ranking     = entry ids sorted by HMAC-SHA256(key, entry id), ascending (ties: by id)
The first `winners_count` of the ranking win; the next `reserves_count` are reserves, in order.
"""

import hashlib
import heapq
import hmac
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

BUNDLE_FORMAT = "reader-support-draw-proof/1"
METHOD = (
    "commitment = SHA-256(seed bytes); fingerprint = SHA-256 of the entry ids sorted and joined "
    "by '\\n' (UTF-8); key = seed bytes, or SHA-256(seed bytes + public randomness as UTF-8) "
    "when a public randomness value is given; each entry id is scored HMAC-SHA256(key, entry id "
    "as UTF-8) and entries are ranked by score ascending (then by id); the first winners_count "
    "win and the next reserves_count are reserves in order."
)


def seed_generate() -> str:
    """Return a fresh secret seed, 32 random bytes as hex."""
    return secrets.token_hex(32)


def commitment_of(seed: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed)).hexdigest()


def fingerprint_of(entry_ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(entry_ids)).encode()).hexdigest()


def draw_key(*, seed: str, public_randomness: str = "") -> bytes:
    seed_bytes = bytes.fromhex(seed)
    if not public_randomness:
        return seed_bytes
    return hashlib.sha256(seed_bytes + public_randomness.encode()).digest()


def ranking_top(*, key: bytes, entry_ids: Sequence[str], count: int) -> list[str]:
    """Return the `count` best-ranked entry ids, best first."""
    digest = hmac.digest
    scored = ((digest(key, entry_id.encode(), "sha256"), entry_id) for entry_id in entry_ids)
    return [entry_id for _, entry_id in heapq.nsmallest(count, scored)]


def bundle_verify(bundle: dict[str, Any]) -> list[str]:
    """Return the problems found re-checking a proof bundle from its own contents (none: valid)."""
    problems = []
    try:
        seed = bundle["seed"]
        entries = bundle["entries"]
        ranking = bundle["ranking"]
        places = int(bundle["winners_count"]) + int(bundle["reserves_count"])
        if bundle.get("format") != BUNDLE_FORMAT:
            problems.append(f"unknown bundle format {bundle.get('format')!r}")
        if commitment_of(seed) != bundle["commitment"]:
            problems.append("the seed does not match the commitment published at opening")
        if len(entries) != len(set(entries)):
            problems.append("an entry id appears more than once")
        if len(entries) != bundle["entries_count"]:
            problems.append("the number of entries differs from the count published at closing")
        if fingerprint_of(entries) != bundle["entries_fingerprint"]:
            problems.append("the entries do not match the fingerprint published at closing")
        key = draw_key(seed=seed, public_randomness=bundle.get("public_randomness", ""))
        expected = ranking_top(key=key, entry_ids=entries, count=places)
        if expected != ranking:
            problems.append("the winners and reserves differ from the ranking the method gives")
    except (KeyError, TypeError, ValueError) as error:
        problems.append(f"the bundle is incomplete or malformed ({error})")
    return problems


def main(argv: Sequence[str]) -> int:
    """Check a bundle with nothing but the Python standard library: `python proof.py b.json`."""
    import json
    import sys

    if len(argv) != 1:
        print("usage: python proof.py bundle.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as handle:
        problems = bundle_verify(json.load(handle))
    for problem in problems:
        print(f"NOT VERIFIED: {problem}")
    if not problems:
        print("verified")
    return 1 if problems else 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
