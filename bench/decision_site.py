"""Settings for the decision benchmark's server: the real project plus bare baseline views.

Used only by `bench/bench_decision.py` (DJANGO_SETTINGS_MODULE=bench.decision_site): the same
settings, middleware and server as production, with extra URLs (see `decision_urls.py`), and
`/bench/bare-short/` answered by the same view through the same short path the embed's endpoints
take (right after SecurityMiddleware), to tell the decision's own cost from Django's.
"""

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE

ROOT_URLCONF = "bench.decision_urls"
MIDDLEWARE = [
    *MIDDLEWARE[: MIDDLEWARE.index("campaigns.middleware.EmbedEndpointsMiddleware")],
    "bench.decision_urls.ShortPathBareMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index("campaigns.middleware.EmbedEndpointsMiddleware") :],
]
