from django.http import HttpRequest
from django.urls import reverse

from branding.brand import brand_css_version, brand_get


def brand(request: HttpRequest) -> dict[str, object]:
    """Give every page the brand and the URL of its stylesheet."""
    return {
        "brand": brand_get(),
        "brand_stylesheet_url": f"{reverse('brand-css')}?v={brand_css_version()}",
    }
