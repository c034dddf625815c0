from django.apps import AppConfig


class BrandingConfig(AppConfig):
    name = "branding"
    verbose_name = "Branding"

    def ready(self) -> None:
        from django.core import checks

        from branding.brand import brand_check

        checks.register(brand_check)
