"""Chorus settings. Everything a deployment changes comes from the environment (see README)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from chorus.core.env import env_bool, env_int, env_list, env_secret, env_str

SRC_DIR = Path(__file__).resolve().parent
BASE_DIR = SRC_DIR.parent.parent
VAR_DIR = Path(env_str("CHORUS_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _embedded_secret_key() -> str:
    # The embedded shape keeps a generated key in var/ so sessions survive restarts.
    # The scaled shape sets SECRET_KEY or SECRET_KEY_FILE (check chorus.W001 says so).
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = env_secret("SECRET_KEY") or _embedded_secret_key()
SECRET_KEY_FROM_ENV = bool(env_secret("SECRET_KEY"))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])  # what the README says
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CHORUS_BASE_URL = env_str("CHORUS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Short links live at <base>/l/<code>; a shorter domain pointing at Chorus may be set here.
CHORUS_SHORT_LINK_BASE = env_str("CHORUS_SHORT_LINK_BASE", CHORUS_BASE_URL).rstrip("/")
# Clicks on short links are buffered and written every this many seconds, off the request path:
# the most a hard crash can lose (chorus.links.clicks).
CHORUS_CLICK_FLUSH_SECONDS = max(0.05, float(env_str("CHORUS_CLICK_FLUSH_SECONDS", "1")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    "chorus.core",
    "chorus.accounts",
    "chorus.channels",
    "chorus.content",
    "chorus.publishing",
    "chorus.connectors.mastodon",  # per-instance OAuth app registrations
    "chorus.connectors.meta",  # Facebook/Instagram/Threads app settings check (no models)
    "chorus.api",
    "chorus.media",  # media library: assets, folders, usage
    "chorus.analytics",
    "chorus.planning",  # calendar: events, drag to reschedule, iCal feeds
    "chorus.bulk",  # CSV/XLSX/JSON import (dry run, fingerprints) and export
    "chorus.approvals",  # approval workflows, outside review links, audit page
    "ninja",  # Swagger UI at /api/docs from its own static files, not a CDN
    "chorus.links",  # short links with UTM, click counts, campaign pages
    "chorus.quotas",  # platform caps: the spent ledger and what usage headers say is left
    "chorus.experiments",  # A/B experiments: variants, designs, statistics, learning log
    "chorus.ads",  # paid reach: ad accounts, boosts, budgets, insights
    "chorus.listening",  # social listening: queries, firehose consumer, matches, insights, alerts
    "chorus.inbox",  # engagement inbox: conversations, assignment, replies, SLAs
    "chorus.webhooks",  # outbound webhooks: signed, retried deliveries with a log
    *env_list("CHORUS_EXTRA_APPS"),
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "chorus.accounts.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "chorus.core.middleware.AuditContextMiddleware",
    "chorus.accounts.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "chorus.accounts.middleware.TwoFactorRequiredMiddleware",  # after messages: it says why
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",  # SECURE_CSP below
    "chorus.core.middleware.NumbersInRangeMiddleware",  # ids beyond 64 bits: 400/422, not 500
]

ROOT_URLCONF = "chorus.urls"
WSGI_APPLICATION = "chorus.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SRC_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chorus.core.context_processors.health_banner",
                "django.template.context_processors.csp",  # csp_nonce for inline scripts
            ],
        },
    }
]

# Database: SQLite in var/ by default; DATABASE_URL (PostgreSQL) for the scaled shape.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'chorus.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + IMMEDIATE transactions + a busy timeout: web, worker and scheduler processes
    # share one file without "database is locked" (DESIGN.md, stack).
    # Connections are kept (CONN_MAX_AGE above): reopening SQLite costs a file open and the PRAGMAs
    # below on every request, which dominated cheap views such as the short-link redirect.
    _db["CONN_HEALTH_CHECKS"] = True
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    # Tests share the database with worker subprocesses, so it must be a file, not :memory:.
    (VAR_DIR / "test").mkdir(exist_ok=True)
    # One file per test process, so concurrent test runs never share (or delete) each other's.
    _db["TEST"] = {"NAME": str(VAR_DIR / "test" / f"test-{os.getpid()}.sqlite3")}
else:
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["chorus.accounts.backends.ChorusBackend"]  # Django's, plus the 2FA requirement
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation: English and French from day one; times stored in UTC.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [SRC_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_COOKIE_NAME = "chorus_language"

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [SRC_DIR / "static", ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist")]
STATICFILES_DIRS += [("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist")]
STATICFILES_DIRS += [("vendor/fullcalendar", BASE_DIR / "node_modules" / "fullcalendar")]
STATICFILES_DIRS += [
    ("vendor/fullcalendar-locales", BASE_DIR / "node_modules" / "@fullcalendar" / "core" / "locales")
]
WHITENOISE_USE_FINDERS = True  # the embedded shape serves straight from the source tree
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Private originals (SafetyRules.keep_private_originals): never under MEDIA_ROOT, never served.
CHORUS_PRIVATE_ROOT = Path(env_str("CHORUS_PRIVATE_ROOT", str(VAR_DIR / "private")))
# Media on an S3-compatible bucket (django-storages) when CHORUS_S3_BUCKET is set: every machine
# then reads and writes the same files; links are short-lived signed URLs. Local files otherwise.
CHORUS_S3_BUCKET = env_str("CHORUS_S3_BUCKET")
if CHORUS_S3_BUCKET:
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": CHORUS_S3_BUCKET,
                "endpoint_url": env_str("CHORUS_S3_ENDPOINT_URL") or None,
                "region_name": env_str("CHORUS_S3_REGION") or None,
                "access_key": env_str("CHORUS_S3_ACCESS_KEY_ID") or None,
                "secret_key": env_secret("CHORUS_S3_SECRET_ACCESS_KEY") or None,
                "querystring_auth": True,
                "querystring_expire": env_int("CHORUS_S3_URL_SECONDS", 300),
                "file_overwrite": False,
                "signature_version": "s3v4",
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

# Background work: Django's Tasks API with one of two engines (DESIGN.md).
TASK_QUEUES = ["default", "publishing", "metrics", "listening"]
CHORUS_TASK_BACKEND = env_str("CHORUS_TASK_BACKEND", "db")
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
if CHORUS_TASK_BACKEND == "celery":
    TASKS = {
        "default": {
            "BACKEND": "django_tasks_celery.CeleryBackend",
            "QUEUES": TASK_QUEUES,
            "OPTIONS": {"CELERY_APP": "chorus.celery.app"},
        }
    }
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": TASK_QUEUES}}

# Shared state (throttles, rate limits, collision guards) lives in the cache, which every process
# must share: Redis in the scaled shape (CHORUS_TASK_BACKEND=celery, or CHORUS_CACHE_URL set), the
# database otherwise, so limits hold across the embedded process group (its table is made by
# `chorus migrate`). Never a per-process memory cache.
CHORUS_CACHE_URL = env_str("CHORUS_CACHE_URL")
if CHORUS_CACHE_URL or CHORUS_TASK_BACKEND == "celery":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CHORUS_CACHE_URL or REDIS_URL,
            "KEY_PREFIX": "chorus",
        }
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "chorus_cache"}
    }

# Email (Django 6.1 MAILERS): console by default; SMTP when EMAIL_HOST is set.
if env_str("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env_str("EMAIL_HOST"),
                "port": env_int("EMAIL_PORT", 587),
                "username": env_str("EMAIL_HOST_USER") or None,
                "password": env_secret("EMAIL_HOST_PASSWORD") or None,
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {
        "default": {"BACKEND": env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")}
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Chorus <chorus@localhost>")

# Security defaults; HTTPS ones are switched on by CHORUS_HTTPS for deployments behind TLS.
CHORUS_HTTPS = env_bool("CHORUS_HTTPS", False)
SESSION_COOKIE_SECURE = CHORUS_HTTPS
CSRF_COOKIE_SECURE = CHORUS_HTTPS
SECURE_SSL_REDIRECT = CHORUS_HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
# A load balancer's health probe often speaks plain HTTP to the process: /health answers it
# instead of redirecting it to https (it shows no secret to an anonymous caller).
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if CHORUS_HTTPS else 0)
# Subdomains and the browsers' preload list only when asked for: both outlive a change of mind.
SECURE_HSTS_INCLUDE_SUBDOMAINS = CHORUS_HTTPS and env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = CHORUS_HTTPS and env_bool("SECURE_HSTS_PRELOAD", False)
# Django's deploy checks warn when either is off; off is our deliberate default (README, Configure),
# so those two warnings would only teach operators to ignore `chorus check --deploy --strict`.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
# Content-Security-Policy on every response (Django's own middleware): scripts only from our
# origin or carrying the request's nonce (`{{ csp_nonce }}`); no inline event handlers (the few
# behaviours live in static/chorus/behaviours.js). Styles allow inline (htmx and FullCalendar set
# them); images may come from https (link preview cards).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:", "https:"],
    "media-src": [CSP.SELF, "blob:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if CHORUS_HTTPS else None
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Ad accounts connected through Meta's login: warn this many days before their token expires.
CHORUS_AD_TOKEN_WARN_DAYS = env_int("CHORUS_AD_TOKEN_WARN_DAYS", 7)

# Health: the loud banner appears when the worker or scheduler has not beaten for this long.
CHORUS_HEARTBEAT_STALE_SECONDS = env_int("CHORUS_HEARTBEAT_STALE_SECONDS", 120)
# A process that stopped beating this long ago is dropped from /health (pruned by the scheduler).
CHORUS_HEARTBEAT_EXPIRE_SECONDS = env_int("CHORUS_HEARTBEAT_EXPIRE_SECONDS", 3600)
CHORUS_SCHEDULER_TICK_SECONDS = float(env_str("CHORUS_SCHEDULER_TICK_SECONDS", "1"))
CHORUS_WORKER_PING_SECONDS = env_int("CHORUS_WORKER_PING_SECONDS", 30)
# Each worker process beats every CHORUS_WORKER_BEAT_SECONDS (or the ping interval if shorter);
# one silent for CHORUS_WORKER_DEAD_SECONDS (a few beats) is dead: its sends are released at once
# (read back, then settled or sent again) instead of holding the network's concurrency cap
# until the leases run out. A worker does not start a call once its own beat is half that old.
CHORUS_WORKER_BEAT_SECONDS = float(env_str("CHORUS_WORKER_BEAT_SECONDS", "5"))
CHORUS_WORKER_DEAD_SECONDS = float(env_str("CHORUS_WORKER_DEAD_SECONDS", "20"))
CHORUS_RELEASE_DEAD_EVERY_SECONDS = float(env_str("CHORUS_RELEASE_DEAD_EVERY_SECONDS", "2"))
# Publishing engine (see chorus.publishing): claim sizes, leases, retries.
CHORUS_CLAIM_BATCH = env_int("CHORUS_CLAIM_BATCH", 200)  # targets claimed per transaction
CHORUS_PUBLISH_BATCH = env_int("CHORUS_PUBLISH_BATCH", 20)  # targets per publish task
CHORUS_PUBLISH_THREADS = env_int("CHORUS_PUBLISH_THREADS", 8)  # concurrent network calls per task
CHORUS_CLAIM_LEASE_SECONDS = env_int("CHORUS_CLAIM_LEASE_SECONDS", 300)  # claimed, task never ran
CHORUS_SEND_LEASE_SECONDS = env_int("CHORUS_SEND_LEASE_SECONDS", 180)  # > any HTTP timeout
CHORUS_RECOVER_EVERY_SECONDS = env_int("CHORUS_RECOVER_EVERY_SECONDS", 30)
CHORUS_UNKNOWN_GIVE_UP_SECONDS = env_int("CHORUS_UNKNOWN_GIVE_UP_SECONDS", 3600)
CHORUS_MAX_ATTEMPTS = env_int("CHORUS_MAX_ATTEMPTS", 5)  # internal errors before sending only
# Transient network failures retry (capped exponential backoff with jitter) for this long after
# the post's scheduled time, then the post is held for a person. Empty: each workspace's
# late-publishing tolerance (Workspace.late_tolerance_minutes) is its horizon.
CHORUS_RETRY_HORIZON_SECONDS = env_int("CHORUS_RETRY_HORIZON_SECONDS", 0) or None
# A channel whose host does not answer is asked again by one probe at a time, backing off from
# CHORUS_RETRY_BASE_SECONDS up to this many seconds between probes.
CHORUS_PROBE_MAX_SECONDS = float(env_str("CHORUS_PROBE_MAX_SECONDS", "60"))
CHORUS_RETRY_BASE_SECONDS = float(env_str("CHORUS_RETRY_BASE_SECONDS", "5"))
CHORUS_RETRY_MAX_SECONDS = float(env_str("CHORUS_RETRY_MAX_SECONDS", "900"))
# Extra connector kinds (kind=dotted.path,...): only tests and benchmarks use it (the sink).
CHORUS_EXTRA_CONNECTORS = dict(item.split("=", 1) for item in env_list("CHORUS_EXTRA_CONNECTORS"))
# SSRF guard: user-typed URLs (instances, sites, link previews) may reach private addresses only
# when this is on (tests against local peers, intranet deployments).
CHORUS_ALLOW_PRIVATE_URLS = env_bool("CHORUS_ALLOW_PRIVATE_URLS", False)
# Outbound webhooks: retried with exponential backoff (base · 2^n, capped) until 3 days old; an
# endpoint is disabled after this many failed attempts in a row.
CHORUS_WEBHOOK_RETRY_BASE_SECONDS = float(env_str("CHORUS_WEBHOOK_RETRY_BASE_SECONDS", "30"))
CHORUS_WEBHOOK_RETRY_MAX_SECONDS = float(env_str("CHORUS_WEBHOOK_RETRY_MAX_SECONDS", str(6 * 3600)))
CHORUS_WEBHOOK_MAX_AGE_SECONDS = float(env_str("CHORUS_WEBHOOK_MAX_AGE_SECONDS", str(3 * 86400)))
CHORUS_WEBHOOK_DISABLE_AFTER = env_int("CHORUS_WEBHOOK_DISABLE_AFTER", 20)
CHORUS_WEBHOOK_LEASE_SECONDS = float(env_str("CHORUS_WEBHOOK_LEASE_SECONDS", "300"))
CHORUS_TRUSTED_PROXY_COUNT = env_int(
    "CHORUS_TRUSTED_PROXY_COUNT", 0
)  # proxies whose X-Forwarded-For we trust
# REST API rate limits, requests a minute, counted in the database (shared by every process).
CHORUS_API_RATE_PER_TOKEN = env_int("CHORUS_API_RATE_PER_TOKEN", 600)
CHORUS_API_RATE_PER_ADDRESS = env_int("CHORUS_API_RATE_PER_ADDRESS", 1200)
# Media library and composer.
CHORUS_MEDIA_MAX_BYTES = env_int("CHORUS_MEDIA_MAX_BYTES", 500 * 1024 * 1024)
# Each uploaded file is counted while it streams in; past CHORUS_MEDIA_MAX_BYTES nothing more of it
# is stored and the view gets its size alone (chorus.core.uploads).
FILE_UPLOAD_HANDLERS = [
    "chorus.core.uploads.BudgetedMemoryFileUploadHandler",
    "chorus.core.uploads.BudgetedTemporaryFileUploadHandler",
]
CHORUS_MEDIA_MAX_PIXELS = env_int("CHORUS_MEDIA_MAX_PIXELS", 90_000_000)  # larger images are refused (bombs)
CHORUS_REQUIRE_ALT_TEXT = env_bool("CHORUS_REQUIRE_ALT_TEXT", True)
INVITATION_MAX_AGE_DAYS = env_int("CHORUS_INVITATION_MAX_AGE_DAYS", 14)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_secrets": {"()": "chorus.core.http.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per outgoing request, its URL's tokens redacted (Meta takes them in the query).
        "httpx": {"filters": ["redact_secrets"]},
    },
}

# OAuth apps, one shape for every network (Meta's included): <NETWORK>_CLIENT_ID / _CLIENT_SECRET /
# _ENABLED (unset = enabled when both are set). Read through connectors/oauth2.py `oauth_app`;
# checks chorus.W101-W103 (Facebook, Instagram, Threads) and W201-W205.
CHORUS_OAUTH_APPS = {
    **globals().get("CHORUS_OAUTH_APPS", {}),
    **{
        net: {
            "client_id": env_str(f"{net.upper()}_CLIENT_ID"),
            "client_secret": env_secret(f"{net.upper()}_CLIENT_SECRET"),
            "enabled": env_bool(f"{net.upper()}_ENABLED") if env_str(f"{net.upper()}_ENABLED") else None,
        }
        for net in ("facebook", "instagram", "threads", "linkedin", "x", "youtube", "tiktok", "pinterest")
    },
}
CHORUS_TIKTOK_AUDITED = env_bool("TIKTOK_AUDITED", False)  # unaudited TikTok apps post SELF_ONLY

# Inbox webhooks from Meta: the token typed in the app's webhook settings (hub.verify_token).
CHORUS_META_WEBHOOK_VERIFY_TOKEN = env_secret("CHORUS_META_WEBHOOK_VERIFY_TOKEN")

# Meta apps (Facebook Pages, Instagram, Threads): <NETWORK>_CLIENT_ID / _CLIENT_SECRET / _ENABLED
# (unset = enabled when both are set). See connectors/meta/setup.py, checks chorus.W101-W103.
for _net in ("FACEBOOK", "INSTAGRAM", "THREADS"):
    globals()[f"{_net}_CLIENT_ID"] = env_str(f"{_net}_CLIENT_ID")
    globals()[f"{_net}_CLIENT_SECRET"] = env_secret(f"{_net}_CLIENT_SECRET")
    globals()[f"{_net}_ENABLED"] = env_bool(
        f"{_net}_ENABLED", bool(env_str(f"{_net}_CLIENT_ID") and env_secret(f"{_net}_CLIENT_SECRET"))
    )
