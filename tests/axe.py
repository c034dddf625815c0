"""Accessibility checks and screenshots for the browser tests.

axe-core comes from the npm registry (package.json, installed into node_modules/ by
`make install-dev`); nothing is fetched at test time. It is injected with `page.evaluate`, which
runs through the browser's debugging protocol, so a page's strict Content-Security-Policy does
not block it. axe walks into open shadow roots by itself, so the appeal is checked with the page.
"""

from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

AXE_PATH = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOT_DIR = Path(settings.BASE_DIR) / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
FAILING_IMPACTS = ("critical", "serious")


@cache
def _axe_source() -> str:
    if not AXE_PATH.exists():
        raise RuntimeError(f"{AXE_PATH} is missing: run `make install-dev` (npm ci) first")
    return AXE_PATH.read_text()


def axe_violations(page: Any, *, context: object = None) -> list[dict[str, Any]]:
    """Return the critical and serious axe-core violations on the page (or within `context`).

    `context` is any axe context, e.g. `{"include": [{"fromShadowDom": ["#host", ".inner"]}]}`
    to check only what is inside a shadow root.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    results = page.evaluate(
        """async context => {
            const options = {resultTypes: ["violations"]};
            return await (context ? axe.run(context, options) : axe.run(document, options));
        }""",
        context,
    )
    return [v for v in results["violations"] if v.get("impact") in FAILING_IMPACTS]


def axe_report(violations: list[dict[str, Any]]) -> str:
    """Describe violations in a few readable lines: rule, impact, help and the first targets."""
    lines = []
    for violation in violations:
        targets = [node["target"] for node in violation["nodes"][:3]]
        lines.append(f"{violation['impact']} {violation['id']}: {violation['help']} at {targets}")
    return "\n".join(lines)


def axe_assert_clean(page: Any, *, context: object = None, what: str = "") -> None:
    """Fail when axe-core finds a critical or serious violation on the page."""
    violations = axe_violations(page, context=context)
    assert not violations, f"axe on {what or page.url}:\n{axe_report(violations)}"


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot under var/screenshots/ for a person to look at; return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def check_page(page: Any, name: str, *, context: object = None) -> None:
    """Screenshot the page on a desktop and a 390x844 phone and check both with axe-core."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        screenshot(page, f"{name}-{label}")
        axe_assert_clean(page, context=context, what=f"{name} ({label}) {page.url}")
