from django.apps import AppConfig


class AntiabuseConfig(AppConfig):
    name = "antiabuse"
    verbose_name = "Abuse protection"
