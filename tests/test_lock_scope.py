"""Every row lock taken through a join names what it locks.

`select_for_update()` on a query with `select_related()` locks the rows of every joined table
too. A busy parent row (a survey, a campaign, a draw) locked that way makes every writer of its
children wait in line (readers' survey submissions did). So such a query must say `of=`.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("antiabuse", "campaigns", "config", "finance", "payments", "staff", "surveys")


def _chain(call: ast.Call) -> list[ast.Call]:
    """Return the calls of a method chain, outermost first (`a.b().c()` gives c(), b())."""
    calls = []
    node: ast.AST = call
    while isinstance(node, ast.Call | ast.Attribute | ast.Subscript):
        if isinstance(node, ast.Call):
            calls.append(node)
            node = node.func
        else:
            node = node.value
    return calls


def _name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def unscoped_locks(source: str) -> list[int]:
    """Return the lines of locking queries that join other tables without saying `of=`."""
    tree = ast.parse(source)
    chains = [_chain(call) for call in ast.walk(tree) if isinstance(call, ast.Call)]
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _name(node) != "select_for_update":
            continue
        if any(keyword.arg == "of" for keyword in node.keywords):
            continue
        # The joins may come before or after the lock in the chain.
        if any(node in chain and "select_related" in map(_name, chain) for chain in chains):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_an_unscoped_lock():
    assert unscoped_locks("Draft.objects.select_for_update().select_related('survey').get()")
    assert unscoped_locks("Draft.objects.select_related('survey').select_for_update().first()")
    assert not unscoped_locks("Draft.objects.select_for_update(of=('self',)).select_related('s')")
    assert not unscoped_locks("Draft.objects.select_for_update().filter(pk=1)")


def test_no_lock_through_a_join_without_saying_what_it_locks():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "tests" in path.parts:
                continue
            for line in unscoped_locks(path.read_text()):
                found.append(f"{path.relative_to(ROOT)}:{line}")
    assert found == [], "select_for_update() with select_related() needs of=(...): " + ", ".join(
        found
    )
