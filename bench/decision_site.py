"""Settings for the decision benchmark's server: the real project plus a bare baseline view.

Used only by `bench/bench_decision.py` (DJANGO_SETTINGS_MODULE=bench.decision_site): the same
settings, middleware and server as production, with one extra URL (see `decision_urls.py`).
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.decision_urls"
