import pytest
from django.test import override_settings

from config.celery import app as celery_app

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
def test_healthz_answers_ok_when_every_part_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checked"] == ["database", "broker", "cache"]


@pytest.mark.django_db
def test_healthz_names_the_cache_when_it_is_down(client):
    broken_cache = {
        "default": {
            "BACKEND": "config.redis_cache.ReusedClientRedisCache",
            "LOCATION": UNREACHABLE_REDIS,
        }
    }
    with override_settings(CACHES=broken_cache):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["cache"]


@pytest.mark.django_db
def test_healthz_names_the_broker_when_it_is_down(client, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "broker_url", UNREACHABLE_REDIS)
    monkeypatch.setitem(celery_app.conf, "broker_transport_options", {})

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


def test_healthz_refuses_other_methods(client):
    assert client.post("/healthz").status_code == 405
