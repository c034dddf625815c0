"""The accessibility helper: it sees a violation when there is one, also in a shadow root."""

import pytest

from tests.axe import axe_violations

pytestmark = pytest.mark.browser


def test_axe_reports_serious_violations_in_the_page_and_in_an_open_shadow_root(page):
    page.set_content(
        """<!doctype html><html lang="en"><head><title>t</title></head><body><main>
        <div id="host"></div></main></body></html>"""
    )
    assert axe_violations(page) == []

    page.evaluate(
        """() => {
            const root = document.getElementById("host").attachShadow({mode: "open"});
            root.innerHTML = '<button></button>';
        }"""
    )
    in_shadow = axe_violations(page, context={"include": [{"fromShadowDom": ["#host", "button"]}]})
    assert [v["id"] for v in in_shadow] == ["button-name"]
    assert [v["id"] for v in axe_violations(page)] == ["button-name"]
