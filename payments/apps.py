from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from celery.signals import task_prerun
        from django.db import close_old_connections

        # With CELERY_DB_REUSE_MAX set, Celery keeps the connection between tasks; retire it as
        # Django does between requests (too old, or failing its health check).
        task_prerun.connect(close_old_connections, weak=False, dispatch_uid="payments-db-age")
