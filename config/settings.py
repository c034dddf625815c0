"""Settings, read from the environment only.

With nothing set you get the embedded default: SQLite, a file-system Celery broker, a file cache,
mail written to disk and the demo payment provider. `DATABASE_URL` switches to production
behaviour, where `SECRET_KEY` and `ALLOWED_HOSTS` are required and nothing falls back to a value
that could reach production by accident. Every variable is listed in the README.
"""

import hashlib
import secrets
from pathlib import Path

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from config.env import BASE_DIR, env, var_dir

# Lets generic classes such as ModelAdmin[Model] be subscripted at run time, as the stubs allow.
django_stubs_ext.monkeypatch()

VAR_DIR = var_dir()
VAR_DIR.mkdir(parents=True, exist_ok=True)

# The embedded default is whatever runs without a DATABASE_URL.
EMBEDDED = not env.str("DATABASE_URL", default="")


def _embedded_secret_key() -> str:
    """Return a per-checkout random key, kept under VAR_DIR so sessions survive restarts."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


if EMBEDDED:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _embedded_secret_key()
    # Debug pages list every URL pattern and setting: opt-in, even for the demo.
    DEBUG = env.bool("DJANGO_DEBUG", default=False)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
else:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be set to a random value of 50+ characters.")
    DEBUG = env.bool("DJANGO_DEBUG", default=False)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names this service answers.")

# The public base URL, used in e-mails and in the embed snippet given to publishers. Every
# process (web, worker, beat) must agree on it, so it never comes from a process's own PORT:
# `make run` gives each process a different PORT and sets SITE_URL once for all of them.
SITE_URL = (
    env.str("SITE_URL", default="") or ("http://127.0.0.1:8000" if EMBEDDED else "")
).rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        "SITE_URL must be set to the service's public base URL, e.g. https://support.example.com"
    )

# --- Brand: the publisher's name, logo, colours and fonts (branding/brand.py) -------------------
# One place for every page, the appeal and every e-mail; checked at start-up (branding.E001).
BRAND = {
    # PAYMENTS_PUBLISHER_NAME is the name's older spelling, still honoured.
    "name": env.str("BRAND_NAME", default="")
    or env.str("PAYMENTS_PUBLISHER_NAME", default="The Daily Example"),
    "logo": env.str("BRAND_LOGO_URL", default="brand/logo.svg"),
    "accent": env.str("BRAND_COLOR_ACCENT", default="#c70000"),
    "accent_text": env.str("BRAND_COLOR_ACCENT_TEXT", default="#ffffff"),
    "ink": env.str("BRAND_COLOR_INK", default="#121212"),
    "paper": env.str("BRAND_COLOR_PAPER", default="#ffffff"),
    "muted": env.str("BRAND_COLOR_MUTED", default="#595959"),
    "font_body": env.str("BRAND_FONT_BODY", default='Georgia, "Times New Roman", serif'),
    "font_heading": env.str("BRAND_FONT_HEADING", default='Georgia, "Times New Roman", serif'),
    "font_ui": env.str(
        "BRAND_FONT_UI", default='system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
    ),
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "staff",
    "antiabuse",
    "branding",
    # Listed in the order `seed_demo` seeds them: a campaign links the demo survey.
    "surveys",
    "campaigns",
    "payments",
    "finance",
]

MIDDLEWARE = [
    # First, so that every response (static files and the embed's endpoints too) carries it.
    "config.security_headers.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
                "branding.context_processors.brand",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------

if EMBEDDED:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_FILE", default=str(VAR_DIR / "db.sqlite3")),
            # A file, not memory, so a worker process in an integration test can share it.
            "TEST": {"NAME": VAR_DIR / "test-db.sqlite3"},
            # WAL and a busy timeout let the web, worker and beat processes share the file.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
else:
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, with a health check that costs no round trip (see its docstring).
        DATABASES["default"]["ENGINE"] = "config.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery ---------------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis cache, keeping one client per pool (see config.redis_cache).
            "BACKEND": "config.redis_cache.ReusedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="rs"),
            # A Redis that stops answering must not hold a reader's request: callers on a
            # reader's path fall back (rate limits count in memory, campaigns keep their copy).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # A task a worker took but never acknowledged comes back after this long.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
else:
    # The file cache is shared by every process on the machine, unlike the local-memory one.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        }
    }
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Its exchange table; the default is a `control` folder in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery closes the database connection before and after every task unless told to reuse it; a
# new PostgreSQL connection per task costs more than most tasks. Reuse it for every app's tasks;
# config/celery.py retires it before each task by Django's own rules (DATABASE_CONN_MAX_AGE,
# health checks), as Django does between requests.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Each app adds its periodic tasks here (see config/celery.py for where they are registered).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "worker-heartbeat": {"task": "config.tasks.worker_heartbeat", "schedule": 30.0},
}

# --- Mail ---------------------------------------------------------------------------------------

EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    globals().update(env.email_url("EMAIL_URL"))
else:
    # Each message becomes a readable .log file in var/mail.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Reader support <support@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Auth, sessions, security -------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

if not EMBEDDED:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# Other sites learn nothing of our URLs (draft tokens, session ids) from links and requests.
SECURE_REFERRER_POLICY = "same-origin"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The publisher's sites that may embed the appeal and call its API cross-origin.
PUBLISHER_ORIGINS = env.list("PUBLISHER_ORIGINS", default=[])

# --- Internationalisation -----------------------------------------------------------------------

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en-gb")
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
# The publisher's own time zone: reports and e-mails show dates in it.
PUBLISHER_TIME_ZONE = env.str("PUBLISHER_TIME_ZONE", default="Europe/London")

# --- Static files -------------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Finance exports are written by a worker and downloaded through the web process: when they run
# on different machines, MEDIA_ROOT must be a folder both share, or FILE_STORAGE_BACKEND another
# Django storage class both reach.
STORAGES = {
    "default": {
        "BACKEND": env.str(
            "FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        )
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not (DEBUG or EMBEDDED)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# The embedded default serves static files through WhiteNoise straight from the source folders,
# so it needs no collectstatic (production serves the collected, hashed and compressed copies).
WHITENOISE_USE_FINDERS = EMBEDDED
WHITENOISE_AUTOREFRESH = EMBEDDED and DEBUG
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# --- Logging ------------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "config.logging.RedactingJsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Abuse protection ---------------------------------------------------------------------------

# How many proxies (CDN, load balancer) append to X-Forwarded-For in front of the web processes.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TURNSTILE_SITE_KEY = env.str("TURNSTILE_SITE_KEY", default="")
TURNSTILE_SECRET_KEY = env.str("TURNSTILE_SECRET_KEY", default="")
TURNSTILE_VERIFY_URL = env.str(
    "TURNSTILE_VERIFY_URL", default="https://challenges.cloudflare.com/turnstile/v0/siteverify"
)
TURNSTILE_SCRIPT_URL = "https://challenges.cloudflare.com/turnstile/v0/api.js"

# --- Campaigns ----------------------------------------------------------------------------------

# Seconds between two checks of the campaigns' version token by each web process (how fast staff
# changes and the kill switch reach readers), and the most a compiled copy is kept regardless.
CAMPAIGN_REFRESH_SECONDS = env.float("CAMPAIGN_REFRESH_SECONDS", default=2.0)
CAMPAIGN_RECOMPILE_SECONDS = env.float("CAMPAIGN_RECOMPILE_SECONDS", default=300.0)
# A gift moves the counters and goals: processes recompile at most this often for that reason.
CAMPAIGN_PROGRESS_SECONDS = env.float("CAMPAIGN_PROGRESS_SECONDS", default=15.0)
# How long shared caches may keep a decision that does not depend on the reader.
CAMPAIGN_SHARED_CACHE_SECONDS = env.int("CAMPAIGN_SHARED_CACHE_SECONDS", default=30)
# The request header (as in request.META) a CDN or proxy sets to the reader's country.
COUNTRY_HEADER = env.str("COUNTRY_HEADER", default="HTTP_CF_IPCOUNTRY")
# Where beacons are counted: "redis" (flushed by beat) or "database" (written at once).
CAMPAIGN_EVENTS_STORE = env.str(
    "CAMPAIGN_EVENTS_STORE", default="redis" if REDIS_URL else "database"
)
if CAMPAIGN_EVENTS_STORE not in ("redis", "database"):
    raise ImproperlyConfigured("CAMPAIGN_EVENTS_STORE must be redis or database.")
if CAMPAIGN_EVENTS_STORE == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("CAMPAIGN_EVENTS_STORE=redis needs REDIS_URL.")
# Seconds each web process adds beacons up in memory before sending them to Redis (0: at once).
CAMPAIGN_EVENTS_BUFFER_SECONDS = env.float("CAMPAIGN_EVENTS_BUFFER_SECONDS", default=1.0)
# Beacon events counted per reader address and minute by each web process; more are refused with
# 429 and not counted (0: no limit). Generous, because many readers can share one address.
CAMPAIGN_BEACON_LIMIT_PER_MINUTE = env.int("CAMPAIGN_BEACON_LIMIT_PER_MINUTE", default=600)
# The embed's two endpoints skip the session, auth, messages and CSRF layers they do not use.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "campaigns.middleware.EmbedEndpointsMiddleware",
)
CELERY_BEAT_SCHEDULE["campaign-events-flush"] = {
    "task": "campaigns.tasks.campaign_events_flush",
    "schedule": env.float("CAMPAIGN_EVENTS_FLUSH_SECONDS", default=60.0),
}

# --- Payments -----------------------------------------------------------------------------------

# Stripe: a secret key switches the demo provider off. Its prefix says live or test mode, and
# webhook events from the other mode are refused.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_LIVEMODE = STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# Where the Stripe API is reached: Stripe's own, or a Stripe-compatible server such as the
# project's emulator (`python -m stripe_emulator --port N`) for offline integration runs.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com").rstrip("/")
# Client-side limits on Stripe API calls per second, shared by every process through Redis
# (Stripe allows about 100 reads and 100 writes per second in live mode, 25 in test mode).
STRIPE_READS_PER_SECOND = env.float(
    "STRIPE_READS_PER_SECOND", default=90.0 if STRIPE_LIVEMODE else 20.0
)
STRIPE_WRITES_PER_SECOND = env.float(
    "STRIPE_WRITES_PER_SECOND", default=90.0 if STRIPE_LIVEMODE else 20.0
)
# Calls allowed back to back instead of evenly spaced. None by default: Stripe counts calls as they
# arrive, and a burst sent on time reached the emulator bunched with the next second's spaced
# calls (101 reads in one second at a 90 budget with 5; 92-94 evenly spaced, as fast).
STRIPE_RATE_BURST = env.float("STRIPE_RATE_BURST", default=0.0)
# The Billing Portal configuration `manage.py stripe_setup` made (empty: the account's default).
STRIPE_PORTAL_CONFIGURATION = env.str("STRIPE_PORTAL_CONFIGURATION", default="")
# The demo provider (a local checkout with Stripe's test cards) runs only without a Stripe key:
# by default in the embedded demo; in production only when asked for by name.
PAYMENTS_DEMO = env.bool("PAYMENTS_DEMO", default=EMBEDDED and not STRIPE_SECRET_KEY)
if PAYMENTS_DEMO and STRIPE_SECRET_KEY:
    raise ImproperlyConfigured("PAYMENTS_DEMO cannot be on while STRIPE_SECRET_KEY is set.")
if not PAYMENTS_DEMO and not STRIPE_SECRET_KEY:
    raise ImproperlyConfigured("Set STRIPE_SECRET_KEY, or PAYMENTS_DEMO=true for the demo.")
if STRIPE_SECRET_KEY and not STRIPE_WEBHOOK_SECRET:
    raise ImproperlyConfigured("STRIPE_WEBHOOK_SECRET must be set together with STRIPE_SECRET_KEY.")
# The demo provider signs its events with a secret derived from SECRET_KEY.
PAYMENTS_DEMO_WEBHOOK_SECRET = (
    "whsec_demo_" + hashlib.sha256(("payments-demo-webhook:" + SECRET_KEY).encode()).hexdigest()
)
# Checkout: "embedded_page" (inside our support page) or "hosted_page" (Stripe's own page).
PAYMENTS_CHECKOUT_UI_MODE = env.str("PAYMENTS_CHECKOUT_UI_MODE", default="embedded_page")
# Stripe's Adaptive Pricing (the reader sees and pays the price in their own currency). Off by
# default: contributions are asked and kept in the campaign's currency.
PAYMENTS_ADAPTIVE_PRICING = env.bool("PAYMENTS_ADAPTIVE_PRICING", default=False)
# Custom amounts allowed, in minor units, per currency: "EUR:100:1000000,GBP:100:1000000,...".
PAYMENTS_AMOUNT_LIMITS = {
    code: (int(low), int(high))
    for code, low, high in (
        item.split(":")
        for item in env.list(
            "PAYMENTS_AMOUNT_LIMITS", default=["EUR:100:500000", "GBP:100:500000", "USD:100:500000"]
        )
    )
}
# Card-fee gross-up offered to readers: percent and fixed part (minor units) of the payment.
PAYMENTS_FEE_COVER_PERCENT = env.float("PAYMENTS_FEE_COVER_PERCENT", default=2.9)
PAYMENTS_FEE_COVER_FIXED_MINOR = env.int("PAYMENTS_FEE_COVER_FIXED_MINOR", default=25)
PAYMENTS_PUBLISHER_NAME = BRAND["name"]
PAYMENTS_RECEIPT_NOT_CHARITY_TEXT = env.str(
    "PAYMENTS_RECEIPT_NOT_CHARITY_TEXT",
    default=(
        "Your contribution supports a commercial news publisher. It is not a charitable "
        "donation and is not eligible for tax relief."
    ),
)
PAYMENTS_MARKETING_CONSENT_TEXT = env.str(
    "PAYMENTS_MARKETING_CONSENT_TEXT",
    default="Yes, send me occasional e-mails about our journalism and ways to support it.",
)
# Abuse limits on starting a checkout and asking for a sign-in link.
PAYMENTS_CHECKOUT_LIMIT_PER_IP = env.int("PAYMENTS_CHECKOUT_LIMIT_PER_IP", default=20)
PAYMENTS_CHECKOUT_LIMIT_PER_EMAIL = env.int("PAYMENTS_CHECKOUT_LIMIT_PER_EMAIL", default=5)
PAYMENTS_LIMIT_WINDOW_SECONDS = env.int("PAYMENTS_LIMIT_WINDOW_SECONDS", default=3600)
PAYMENTS_SIGN_IN_LINK_MINUTES = env.int("PAYMENTS_SIGN_IN_LINK_MINUTES", default=30)
# At most one sign-in mail per supporter this often (the earlier link still works meanwhile).
PAYMENTS_SIGN_IN_RESEND_SECONDS = env.int("PAYMENTS_SIGN_IN_RESEND_SECONDS", default=300)
# Events stored but not applied for this long are applied by the periodic sweep.
PAYMENTS_WEBHOOK_SWEEP_AFTER_SECONDS = env.int("PAYMENTS_WEBHOOK_SWEEP_AFTER_SECONDS", default=60)
PAYMENTS_WEBHOOK_MAX_ATTEMPTS = env.int("PAYMENTS_WEBHOOK_MAX_ATTEMPTS", default=8)
# The intake enqueues one batch task for the events stored meanwhile (a flag in the cache, kept
# this many seconds at most, says one is queued); a task applies up to BATCH_SIZE events or runs
# BATCH_SECONDS, then leaves the rest to another task.
PAYMENTS_WEBHOOK_WAKE_SECONDS = env.int("PAYMENTS_WEBHOOK_WAKE_SECONDS", default=10)
PAYMENTS_WEBHOOK_BATCH_SIZE = env.int("PAYMENTS_WEBHOOK_BATCH_SIZE", default=200)
PAYMENTS_WEBHOOK_BATCH_SECONDS = env.float("PAYMENTS_WEBHOOK_BATCH_SECONDS", default=5.0)
# A batch applies its events in chunks, one transaction each, sized to last about CHUNK_SECONDS
# and to hold at most CHUNK_SIZE events: fewer commits, without holding many contributions'
# locks for long.
PAYMENTS_WEBHOOK_CHUNK_SIZE = env.int("PAYMENTS_WEBHOOK_CHUNK_SIZE", default=25)
PAYMENTS_WEBHOOK_CHUNK_SECONDS = env.float("PAYMENTS_WEBHOOK_CHUNK_SECONDS", default=0.25)
# Events that wait for Stripe's API (SLOW_SECONDS or more each) are applied side by side
# by THREADS threads per batch task, each on its own database connection (so a worker process
# may hold THREADS + 1 connections): Stripe's 200-400 ms per read would otherwise be waited out
# one event at a time. The Stripe rate limit above keeps them all under Stripe's own. 24: one
# worker process alone fills live mode's 90 reads a second at 250 ms a read (24 / 0.26 s),
# while the other sends a batch's receipts.
PAYMENTS_WEBHOOK_THREADS = env.int("PAYMENTS_WEBHOOK_THREADS", default=24)
PAYMENTS_WEBHOOK_SLOW_SECONDS = env.float("PAYMENTS_WEBHOOK_SLOW_SECONDS", default=0.05)
# The sweep (every SWEEP_EVERY seconds) also queues receipts still unsent RECEIPT_SWEEP_AFTER
# seconds after the payment (a lost task, a worker killed), up to RECEIPT_SWEEP_BATCH at a time.
PAYMENTS_WEBHOOK_SWEEP_EVERY_SECONDS = env.float("PAYMENTS_WEBHOOK_SWEEP_EVERY_SECONDS", default=60)
PAYMENTS_RECEIPT_SWEEP_AFTER_SECONDS = env.int("PAYMENTS_RECEIPT_SWEEP_AFTER_SECONDS", default=120)
PAYMENTS_RECEIPT_SWEEP_BATCH = env.int("PAYMENTS_RECEIPT_SWEEP_BATCH", default=2000)
CELERY_BEAT_SCHEDULE["payments-webhook-sweep"] = {
    "task": "payments.tasks.webhook_events_sweep",
    "schedule": PAYMENTS_WEBHOOK_SWEEP_EVERY_SECONDS,
}
# A once-only mail (receipt, notice, prize claim) claimed this long ago and still not recorded
# as sent is taken to be a crashed send and sent again, under the same Message-ID.
MAIL_CLAIM_SECONDS = env.int("MAIL_CLAIM_SECONDS", default=300)
# Annual supporters are reminded this many days before their contribution renews (once each).
PAYMENTS_RENEWAL_REMINDER_DAYS = env.int("PAYMENTS_RENEWAL_REMINDER_DAYS", default=7)
CELERY_BEAT_SCHEDULE["payments-renewal-reminders"] = {
    "task": "payments.tasks.renewal_reminders_enqueue",
    "schedule": 3600.0,
}

# --- Surveys ------------------------------------------------------------------------------------

# Days after a draw is complete before entrants' personal data is erased (answers stay, anonymous).
SURVEYS_ERASE_AFTER_DAYS = env.int("SURVEYS_ERASE_AFTER_DAYS", default=90)
# Winners who have not claimed get one reminder this many days before their claim window ends.
SURVEYS_CLAIM_REMINDER_DAYS = env.int("SURVEYS_CLAIM_REMINDER_DAYS", default=3)
# Seconds between two checks, by each web process, of the token survey edits bump: how fast a
# staff edit (closing a survey, new questions) reaches readers served by other processes.
SURVEYS_REFRESH_SECONDS = env.float("SURVEYS_REFRESH_SECONDS", default=2.0)
# Unfinished survey drafts (answers so far, no personal data) are dropped after this many days.
SURVEYS_DRAFT_DAYS = env.int("SURVEYS_DRAFT_DAYS", default=30)
# Rate limits on survey answers and draw entries, per client address and per e-mail, per hour.
SURVEYS_RATE_LIMIT_PER_IP = env.int("SURVEYS_RATE_LIMIT_PER_IP", default=60)
SURVEYS_RATE_LIMIT_PER_EMAIL = env.int("SURVEYS_RATE_LIMIT_PER_EMAIL", default=5)
# At most one confirmation mail per entry (one normalised address in one draw) this often.
SURVEYS_CONFIRMATION_RESEND_SECONDS = env.int("SURVEYS_CONFIRMATION_RESEND_SECONDS", default=3600)
CELERY_BEAT_SCHEDULE["surveys-draws-advance"] = {
    "task": "surveys.tasks.draws_advance",
    "schedule": env.float("SURVEYS_DRAWS_ADVANCE_SECONDS", default=300.0),
}
CELERY_BEAT_SCHEDULE["surveys-retention-erase"] = {
    "task": "surveys.tasks.draws_retention_erase",
    "schedule": 3600.0,
}

# --- Finance ------------------------------------------------------------------------------------

# Who gets the monthly finance report (comma-separated addresses); empty sends nothing.
FINANCE_REPORT_EMAILS = env.list("FINANCE_REPORT_EMAILS", default=[])
# Admin exports up to this many rows stream straight to the browser; larger ones run in a worker
# and end in an e-mailed download link.
FINANCE_EXPORT_INLINE_MAX_ROWS = env.int("FINANCE_EXPORT_INLINE_MAX_ROWS", default=50_000)
# How long an e-mailed export download link (and the file behind it) lasts.
FINANCE_EXPORT_LINK_HOURS = env.int("FINANCE_EXPORT_LINK_HOURS", default=48)
# Beat: the report for the month that just ended on the 1st at 06:00 UTC (after midnight in any
# European time zone); expired export files removed hourly.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE["finance-monthly-report"] = {
    "task": "finance.tasks.monthly_report_send_task",
    "schedule": crontab(minute=0, hour=6, day_of_month=1),
}
CELERY_BEAT_SCHEDULE["finance-export-cleanup"] = {
    "task": "finance.tasks.export_files_expire_task",
    "schedule": crontab(minute=17),
}
# The dashboard's daily rollups gain a row per ledger write (finance/rollups.py); folding them
# back to one row per day and attribute this often keeps the dashboard's read small.
FINANCE_ROLLUPS_COMPACT_SECONDS = env.float("FINANCE_ROLLUPS_COMPACT_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE["finance-rollups-compact"] = {
    "task": "finance.tasks.rollups_compact_task",
    "schedule": FINANCE_ROLLUPS_COMPACT_SECONDS,
}
