"""Django settings for Ops Portal, read from the environment (12-factor).

Embedded defaults (SQLite under var/, filesystem Celery broker, local-memory cache, in-memory
channel layer) make `make run` work on a bare machine; DATABASE_URL and REDIS_URL switch the same
code to PostgreSQL and Redis. DJANGO_ENV=production turns on the secure settings and requires
SECRET_KEY and ALLOWED_HOSTS.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_choice, env_int, env_list, env_str, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DJANGO_ENV = env_choice("DJANGO_ENV", "development", {"development", "production"})
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when DJANGO_ENV=production")

SECRET_KEY = secret_key(production=PRODUCTION, var_dir=VAR_DIR)

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_ENV=production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The public URL of this portal, used in links we print or send (integration URLs, emails).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "ops_portal",
    "accounts",
    "catalog",
    "incidents",
    "alerts",
    "diagnostics",
    "maintenance",
    "statuspage",
    "postmortems",
    "insights",
]

MIDDLEWARE = [
    "ops_portal.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
# The alert ingestion POSTs (ops_portal/wsgi.py): the middleware above that changes anything
# for them, in the same order. Their answers carry the same headers either way.
INGEST_MIDDLEWARE = [
    "ops_portal.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# The public status page's GETs (ops_portal/wsgi.py, statuspage/public_urls.py): anonymous,
# cookie-less, CSRF-exempt reads need the same few, and answer with the same headers.
STATUSPAGE_MIDDLEWARE = [
    "ops_portal.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ops_portal.urls"
WSGI_APPLICATION = "ops_portal.wsgi.application"
ASGI_APPLICATION = "ops_portal.asgi.application"

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
                "ops_portal.navigation.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")


def _database(url: str) -> dict:
    config = dj_database_url.parse(url)
    if config["ENGINE"] == "django.db.backends.postgresql":
        options = config.setdefault("OPTIONS", {})
        options.setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1))
        # Our own sessions are recognisable in pg_stat_activity: the "terminate backend"
        # remediation refuses them, so the portal can never cut its own legs off.
        options.setdefault("application_name", "ops-portal")
        if env_bool("DATABASE_POOL", default=True):
            # psycopg 3's pool (Django >= 5.1); persistent connections must then stay off.
            options["pool"] = {
                "min_size": env_int("DATABASE_POOL_MIN", 1, minimum=0),
                "max_size": env_int("DATABASE_POOL_MAX", 10, minimum=1),
                "timeout": env_int("DATABASE_POOL_TIMEOUT", 10, minimum=1),
            }
            config["CONN_MAX_AGE"] = 0
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL + IMMEDIATE: the web server and the worker write the same file in `make run`;
        # this makes writers queue for the lock instead of failing with "database is locked".
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # Opening a SQLite connection (and its PRAGMAs) per request cost more than the
        # requests themselves in `make bench`; keep connections per thread instead.
        config["CONN_MAX_AGE"] = 600
        config["CONN_HEALTH_CHECKS"] = True
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    return config


DATABASES = {"default": _database(DATABASE_URL)}
DATABASE_VENDOR = "postgresql" if "postgresql" in DATABASES["default"]["ENGINE"] else "sqlite"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery broker, channel layer -----------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "ops",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "ops:channels"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery (see ARCHITECTURE.md §9 for why each of these is set) -----------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # The hard time limit must stay below the visibility timeout, or Redis re-delivers a task
    # that is still running.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = max(CELERY_TASK_TIME_LIMIT - 30, 1)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_MAX_REDELIVERIES = env_int("CELERY_TASK_MAX_REDELIVERIES", 3, minimum=0)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
# Several portals (or test runs) can share one Redis by using different queue names.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
# How often the worker proves it is alive; /health marks the broker degraded after 3 misses.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 30, minimum=1)

# --- Alert ingestion (alerts app) -------------------------------------------------------------
ALERTS_MAX_BODY_BYTES = env_int("ALERTS_MAX_BODY_BYTES", 512 * 1024, minimum=1024)
# Per integration, per minute, counted in alerts (an Alertmanager POST of 10 alerts counts 10);
# each integration may set its own. Generous: during an outage alerts come in storms.
ALERTS_RATE_LIMIT_PER_MINUTE = env_int("ALERTS_RATE_LIMIT_PER_MINUTE", 12000, minimum=1)
# A web process sends at most one "process pending alerts" task per this many seconds.
ALERTS_NUDGE_COALESCE_SECONDS = env_int("ALERTS_NUDGE_COALESCE_MS", 100, minimum=0) / 1000
# Process deliveries inside the request instead (tests and debugging only).
ALERTS_PROCESS_INLINE = env_bool("ALERTS_PROCESS_INLINE", False)

# Outbound HTTP (HTTP probes now; webhooks and Slack later) goes through ops_portal/outbound/:
# in production it refuses private, loopback and link-local addresses (SSRF) unless a range is
# allow-listed here, e.g. "10.20.0.0/16,127.0.0.1/32". Cloud metadata addresses need an exact /32.
OUTBOUND_ALLOWED_NETWORKS = env_list("OUTBOUND_ALLOWED_NETWORKS", [])
try:
    for _network in OUTBOUND_ALLOWED_NETWORKS:
        ipaddress.ip_network(_network, strict=False)
except ValueError as _exc:
    raise ImproperlyConfigured(f"OUTBOUND_ALLOWED_NETWORKS: {_exc}") from None

# Diagnostics (docs/diagnostics.md). Probe runs go to their own queue, consumed by the thread-pool
# `probes` worker of the Procfile.
DIAGNOSTICS_QUEUE = env_str(
    "DIAGNOSTICS_QUEUE",
    "probes" if CELERY_TASK_DEFAULT_QUEUE == "celery" else f"{CELERY_TASK_DEFAULT_QUEUE}-probes",
)
DIAGNOSTICS_RUN_INLINE = env_bool("DIAGNOSTICS_RUN_INLINE", False)  # tests: no worker needed
DIAGNOSTICS_MAX_PROBE_TIMEOUT_S = env_int("DIAGNOSTICS_MAX_PROBE_TIMEOUT_S", 60, minimum=1)
DIAGNOSTICS_STALE_RUNNING_S = DIAGNOSTICS_MAX_PROBE_TIMEOUT_S + 60
DIAGNOSTICS_MAX_ATTEMPTS = env_int("DIAGNOSTICS_MAX_ATTEMPTS", 3, minimum=1)
DIAGNOSTICS_RESEND_AFTER_S = env_int("DIAGNOSTICS_RESEND_AFTER_S", 30, minimum=5)
DIAGNOSTICS_PICKUP_DEADLINE_S = env_int("DIAGNOSTICS_PICKUP_DEADLINE_S", 600, minimum=60)
DIAGNOSTICS_SWEEP_SECONDS = env_int("DIAGNOSTICS_SWEEP_SECONDS", 15, minimum=1)
DIAGNOSTICS_WATCH_MINUTES = env_int("DIAGNOSTICS_WATCH_MINUTES", 30, minimum=0)
DIAGNOSTICS_WATCH_INTERVAL_S = env_int("DIAGNOSTICS_WATCH_INTERVAL_S", 300, minimum=10)
# Remediation actions (docs/remediation.md): a preview's confirm token lives this long; a
# running action with no outcome after ACTIONS_STALE_RUNNING_S is marked "unknown", never retried.
ACTIONS_PREVIEW_TTL_S = env_int("ACTIONS_PREVIEW_TTL_S", 300, minimum=30)
ACTIONS_STALE_RUNNING_S = env_int("ACTIONS_STALE_RUNNING_S", 2700, minimum=60)  # > task limit
ALERTS_SWEEP_SECONDS = env_int("ALERTS_SWEEP_SECONDS", 10, minimum=1)
# The sweeper leaves deliveries younger than this to the nudged worker.
ALERTS_SWEEP_GRACE_SECONDS = env_int("ALERTS_SWEEP_GRACE_SECONDS", 5, minimum=0)
ALERTS_RAW_RETENTION_DAYS = env_int("ALERTS_RAW_RETENTION_DAYS", 7, minimum=1)

# Postmortems (docs/postmortems.md): due this long after resolution; owners are reminded when one
# is due within DUE_SOON hours and when it is overdue; beat looks for due reminders this often.
POSTMORTEM_DUE_HOURS = env_int("POSTMORTEM_DUE_HOURS", 48, minimum=1)
POSTMORTEM_DUE_SOON_HOURS = env_int("POSTMORTEM_DUE_SOON_HOURS", 12, minimum=1)
POSTMORTEM_REMINDER_SWEEP_SECONDS = env_int("POSTMORTEM_REMINDER_SWEEP_SECONDS", 300, minimum=1)

# Maintenance windows (docs/maintenance.md): how often beat looks for 24 h notices that are due.
MAINTENANCE_NOTICE_SWEEP_SECONDS = env_int("MAINTENANCE_NOTICE_SWEEP_SECONDS", 60, minimum=1)

# Backup verification (docs/maintenance.md). Dumps are read only from inside MAINTENANCE_BACKUP_DIR;
# restores go to a throw-away database on MAINTENANCE_BACKUP_SCRATCH_URL (a DSN with a user allowed
# to CREATE DATABASE; empty: the source's own server). MAINTENANCE_BACKUP_TIMEOUT_S bounds one
# whole check (dump, restore, comparison); the Celery task's hard limit sits just above it and
# must stay below the broker's visibility timeout, or Redis would hand a running check to a
# second worker. Empty MAINTENANCE_BACKUP_PG_BIN_DIR: pg_dump/pg_restore from PATH.
MAINTENANCE_BACKUP_DIR = Path(env_str("MAINTENANCE_BACKUP_DIR", str(VAR_DIR / "backups")))
MAINTENANCE_BACKUP_SCRATCH_URL = env_str("MAINTENANCE_BACKUP_SCRATCH_URL", "")
MAINTENANCE_BACKUP_PG_BIN_DIR = env_str("MAINTENANCE_BACKUP_PG_BIN_DIR", "")
MAINTENANCE_BACKUP_TIMEOUT_S = env_int("MAINTENANCE_BACKUP_TIMEOUT_S", 1800, minimum=10)
MAINTENANCE_BACKUP_TASK_TIME_LIMIT = MAINTENANCE_BACKUP_TIMEOUT_S + 120
if (
    CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    <= MAINTENANCE_BACKUP_TASK_TIME_LIMIT
):
    raise ImproperlyConfigured(
        "MAINTENANCE_BACKUP_TIMEOUT_S + 120 s must stay below the broker visibility timeout"
    )

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Seconds between two writes of a token's last-used time: keeps hot API clients from turning
# every read into a write.
API_TOKEN_LAST_USED_RESOLUTION = 60

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.DeclaredPermissions"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + ([] if PRODUCTION else ["rest_framework.renderers.BrowsableAPIRenderer"]),
    "EXCEPTION_HANDLER": "ops_portal.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ops Portal API",
    "DESCRIPTION": (
        "Incidents, alert ingestion, diagnostics, maintenance and the service catalog. "
        "Authenticate with `Authorization: Bearer <token>` (create one on your profile page "
        "or with `manage.py create_api_token <username>`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: no CDN, works offline and under a strict CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["accounts.permissions.IsViewer"],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "alerts.openapi.add_ingestion_paths",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ComponentStatusEnum": "catalog.models.ComponentStatus",
        "TargetKindEnum": "catalog.models.TargetKind",
        "IncidentStatusEnum": "incidents.models.Status",
        "PublicUpdateStatusEnum": "incidents.services.PUBLIC_UPDATE_STATUSES",
        "TaskStatusEnum": "incidents.models.TaskStatus",
        "SeverityEnum": "incidents.models.Severity",
        "EventKindEnum": "incidents.models.EventKind",
        "IntegrationKindEnum": "alerts.models.IntegrationKind",
        "AlertActionEnum": "alerts.models.AlertAction",
        "RouteActionEnum": "alerts.models.RouteAction",
        "AlertGroupStatusEnum": "alerts.models.GroupStatus",
        "ProbeStatusEnum": "diagnostics.models.ProbeStatus",
        "ProbeRunStateEnum": "diagnostics.models.RunState",
        "DiagnosisPurposeEnum": "diagnostics.models.Purpose",
        "VerificationStateEnum": "diagnostics.models.VerificationState",
        "ActionStateEnum": "diagnostics.models.ActionState",
        "MaintenanceWindowStateEnum": "maintenance.models.WindowState",
        "PostmortemStateEnum": "postmortems.models.PostmortemState",
        "StatusProposalStateEnum": "diagnostics.models.ProposalState",
        "ActionItemStatusEnum": "postmortems.models.ActionStatus",
        "ActionItemPriorityEnum": "postmortems.models.ActionPriority",
        "WindowEventKindEnum": "maintenance.models.WindowEventKind",
        "ChecklistPhaseEnum": "maintenance.models.Phase",
        "WindowPhaseEnum": "maintenance.models.WINDOW_PHASES",
        "BackupStateEnum": "maintenance.models.BackupState",
        "ApprovalRuleEnum": "diagnostics.models.ApprovalRule",
        "SymptomEnum": "incidents.models.Symptom",
        "PlaybookStepEnum": "incidents.models.Step",
        "ChecklistKindEnum": "maintenance.models.ChecklistKind",
    },
}

# --- Metrics ----------------------------------------------------------------------------------
# When set, /metrics requires `Authorization: Bearer <METRICS_TOKEN>` (Prometheus
# `authorization.credentials`).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# --- I18N / time ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Development serves straight from the app folders, so `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    # WhiteNoise warns about a missing STATIC_ROOT even when it serves from the finders.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security ---------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    # Behind a TLS-terminating proxy or Ingress that sets X-Forwarded-Proto.
    if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /health must answer plain-HTTP probes from the orchestrator.
    SECURE_REDIRECT_EXEMPT = [r"^health$", r"^metrics$"]

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Demo -------------------------------------------------------------------------------------
# Password `seed_demo` gives the four demo users; `make run` prints it. Never used in production
# unless someone runs seed_demo there on purpose.
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "ops-portal-demo")

# --- Health -----------------------------------------------------------------------------------
# The connection alias /health checks (tests point it at an unreachable server).
HEALTH_DATABASE_ALIAS = "default"

# --- Incidents --------------------------------------------------------------------------------
# Business hours for "escalate next business day" (P3): opening time, weekdays (0 = Monday).
BUSINESS_TIME_ZONE = env_str("BUSINESS_TIME_ZONE", TIME_ZONE)
BUSINESS_HOURS_START = env_str("BUSINESS_HOURS_START", "09:00")
BUSINESS_DAYS = tuple(int(day) for day in env_list("BUSINESS_DAYS", ["0", "1", "2", "3", "4"]))
# Escalation tiers for an unacknowledged incident: level n is due at the escalation deadline
# plus (n - 1) response windows.
ESCALATION_MAX_LEVEL = env_int("ESCALATION_MAX_LEVEL", 3, minimum=1)
ESCALATION_SWEEP_SECONDS = env_int("ESCALATION_SWEEP_SECONDS", 30, minimum=5)

# --- Status page (docs/statuspage.md) -------------------------------------------------------
# The `page` object of the Statuspage-compatible JSON and the public page's title.
STATUSPAGE_NAME = env_str("STATUSPAGE_NAME", "Ops Portal")
STATUSPAGE_PAGE_ID = env_str("STATUSPAGE_PAGE_ID", "ops-portal")
# Browsers and proxies may reuse a public answer this long; our own cache is invalidated on every
# write, and STATUSPAGE_CACHE_SECONDS only bounds how stale a missed invalidation can leave it.
STATUSPAGE_MAX_AGE_SECONDS = env_int("STATUSPAGE_MAX_AGE_SECONDS", 10, minimum=0)
STATUSPAGE_CACHE_SECONDS = env_int("STATUSPAGE_CACHE_SECONDS", 60, minimum=1)
# Subscriptions (docs/statuspage.md, "Subscriptions"): the sender of subscriber emails; at most
# this many subscribe requests per client IP per hour (429 above); how often beat fans out missed
# public events and retries due deliveries. DELIVER_INLINE fans out and sends in the caller instead
# of a worker (tests only).
STATUSPAGE_EMAIL_FROM = env_str("STATUSPAGE_EMAIL_FROM", "status@localhost")
STATUSPAGE_SUBSCRIBE_PER_HOUR = env_int("STATUSPAGE_SUBSCRIBE_PER_HOUR", 10, minimum=1)
# Proxies in front of `web` that append to X-Forwarded-For (0: the client is REMOTE_ADDR); behind
# an Ingress set 1, or every visitor shares the proxy's address and its limit.
STATUSPAGE_TRUSTED_PROXIES = env_int("STATUSPAGE_TRUSTED_PROXIES", 0, minimum=0)
STATUSPAGE_DELIVERY_SWEEP_SECONDS = env_int("STATUSPAGE_DELIVERY_SWEEP_SECONDS", 30, minimum=5)
STATUSPAGE_DELIVER_INLINE = env_bool("STATUSPAGE_DELIVER_INLINE", False)

# --- Email (Django's backend; status page subscribers today) ----------------------------------
# Outside production the console backend prints messages instead of needing an SMTP server.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A hung SMTP server must not hold a delivery past its stuck-row deadline.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
