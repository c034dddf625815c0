from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from branding.views import brand_stylesheet, favicon
from campaigns.demo_page import demo_article
from config.health import healthz

admin.site.site_header = "Reader support"
admin.site.site_title = "Reader support"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("brand.css", brand_stylesheet, name="brand-css"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("demo/", demo_article, name="demo-article"),
    path("", include("campaigns.urls")),
    path("", include("payments.urls")),
    path("", include("surveys.urls")),
]

if settings.EMBEDDED:
    urlpatterns.append(path("", RedirectView.as_view(pattern_name="demo-article"), name="home"))
