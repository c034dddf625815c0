"""The brand is set once, checked at start-up, and reaches pages as CSS custom properties."""

from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from branding.brand import Brand, brand_css, brand_css_version, brand_get, brand_problems

GOOD = {
    "name": "The Daily Example",
    "logo": "brand/logo.svg",
    "accent": "#c70000",
    "accent_text": "#ffffff",
    "ink": "#121212",
    "paper": "#ffffff",
    "muted": "#595959",
    "font_body": 'Georgia, "Times New Roman", serif',
    "font_heading": "Georgia, serif",
    "font_ui": "system-ui, sans-serif",
}


def test_a_good_brand_has_no_problems():
    assert brand_problems(GOOD) == []


def test_colours_and_fonts_that_could_break_out_of_css_are_refused():
    bad = {**GOOD, "accent": "red; } body { display: none", "font_body": "x; } * { color: red"}

    problems = brand_problems(bad)

    assert "BRAND_COLOR_ACCENT must be a colour like #c70000" in problems
    assert "BRAND_FONT_BODY must be a font stack like Georgia, serif" in problems


def test_start_up_refuses_a_broken_brand(settings):
    settings.BRAND = {**GOOD, "ink": "black"}

    try:
        call_command("check")
    except SystemCheckError as error:
        assert "BRAND_COLOR_INK" in str(error)
    else:
        raise AssertionError("the system check let a broken brand through")


def test_the_css_declares_every_property_for_pages_and_shadow_roots():
    css = brand_css(Brand(**GOOD))

    assert css.startswith(":root, :host {")
    assert "--rs-brand-accent: #c70000;" in css
    assert "--rs-brand-font-body: Georgia" in css


def test_the_stylesheet_is_served_and_versioned(client):
    response = client.get(f"/brand.css?v={brand_css_version()}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert f"--rs-brand-accent: {brand_get().accent};" in response.content.decode()
    assert "immutable" in response["Cache-Control"]


def test_the_favicon_is_there(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("/brand/favicon.svg")
    assert finders.find("brand/favicon.svg")
