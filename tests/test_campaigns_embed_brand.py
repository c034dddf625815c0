"""The appeal wears the publisher's brand: the served embed script carries the brand's custom
properties into the appeal's own stylesheet (its shadow root sees none of the page's)."""

import shutil
import subprocess

import pytest

from branding.brand import brand_get
from campaigns import views


@pytest.fixture
def fresh_brand():
    """Forget the brand and the served script each side of the test (both are cached)."""
    brand_get.cache_clear()
    views._embed_source.cache_clear()
    yield
    brand_get.cache_clear()
    views._embed_source.cache_clear()


def test_the_served_embed_carries_the_brand_and_still_parses(
    client, settings, tmp_path, fresh_brand
):
    settings.BRAND = {
        **settings.BRAND,
        "accent": "#123456",
        "font_heading": '"Publisher Serif", Georgia, serif',  # quotes inside a JS string
    }

    source = client.get("/embed.js").content.decode()

    assert "--rs-brand-accent: #123456;" in source
    assert '--rs-brand-font-heading: \\"Publisher Serif\\", Georgia, serif;' in source
    assert 'var BRAND_CSS = "";' not in source
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed to check the served script parses (it installs axe-core)")
    script = tmp_path / "embed.js"
    script.write_text(source)
    subprocess.run([node, "--check", str(script)], check=True)  # noqa: S603 - our own file
