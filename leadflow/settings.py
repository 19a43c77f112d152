"""leadflow settings: everything an operator may change comes from the environment.

A bad value fails loudly at start-up rather than half-working.
"""

import os
import secrets
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


# Where leadflow keeps its SQLite database and generated secret when no DATABASE_URL is given.
DATA_DIR = Path(
    os.environ.get("LEADFLOW_DATA_DIR")
    or Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "leadflow"
)


def _secret_key() -> str:
    if key := os.environ.get("LEADFLOW_SECRET_KEY"):
        return key
    # A fresh install must work without configuration: keep a generated key in the data folder.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("LEADFLOW_DEBUG", False)
ALLOWED_HOSTS = os.environ.get(
    "LEADFLOW_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver"
).split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("LEADFLOW_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "leadflow.accounts",
    "leadflow.leads",
    "leadflow.web",
    "leadflow.api",
    "leadflow.reports",
    "leadflow.notify",
    "leadflow.scoring",
    "leadflow.webhooks",
    "leadflow.intake",
    "leadflow.transfer",
    "ninja",  # serves Swagger UI's files itself, so /api/docs works offline
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "leadflow.web.middleware.UserTimeZoneMiddleware",
]

ROOT_URLCONF = "leadflow.urls"
WSGI_APPLICATION = "leadflow.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leadflow.web.navigation.navigation",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'leadflow.sqlite3'}"
if DATABASE_URL.startswith("sqlite") and "DATABASE_URL" not in os.environ:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except Exception as exc:  # dj_database_url raises several types; name the variable.
    raise ImproperlyConfigured(f"DATABASE_URL={DATABASE_URL!r} is not usable: {exc}") from exc

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of one failing
        # with "database is locked" when it tries to upgrade a read lock.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory: tests run real concurrent connections, and in-memory SQLite's shared
    # cache has table locks that ignore the busy timeout.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-leadflow.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # JIT compilation costs seconds on report queries that run in milliseconds without it.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
]

LANGUAGE_CODE = "en-us"
# The company's time zone: periods (months, quarters) in reports are cut in this zone.
TIME_ZONE = os.environ.get("LEADFLOW_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("LEADFLOW_STATIC_ROOT") or DATA_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# `leadflow serve` runs without collectstatic: whitenoise serves straight from the app folders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# STATIC_ROOT exists only after an optional `leadflow collectstatic`; finders serve without it.
warnings.filterwarnings("ignore", message="No directory at")

EMAIL_HOST = os.environ.get("LEADFLOW_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("LEADFLOW_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = os.environ.get("LEADFLOW_FROM_EMAIL", "leadflow@localhost")


def env_fractions(name: str, default: str) -> tuple[float, ...]:
    raw = os.environ.get(name, default)
    try:
        fractions = tuple(sorted({float(f) for f in raw.split(",") if f.strip()}))
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a list of numbers") from None
    if any(not 0 < f < 1 for f in fractions):
        raise ImproperlyConfigured(f"{name}={raw!r}: each fraction must be between 0 and 1")
    return fractions


# The worker (`leadflow worker`): how often it sweeps for due hand-offs, and when reminders go
# out, as fractions of each offer's allowed business time ("" for no reminders).
LEADFLOW_SWEEP_SECONDS = env_int("LEADFLOW_SWEEP_SECONDS", 30)
if LEADFLOW_SWEEP_SECONDS < 1:
    raise ImproperlyConfigured("LEADFLOW_SWEEP_SECONDS must be at least 1")
LEADFLOW_REMINDER_FRACTIONS = env_fractions("LEADFLOW_REMINDER_FRACTIONS", "0.5,0.9")
# Links in notification e-mails point here.
LEADFLOW_BASE_URL = os.environ.get("LEADFLOW_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Intake: how long an API Idempotency-Key is remembered, and how many web-to-lead form posts
# one client address may make per minute (more are refused with 429 and logged).
LEADFLOW_IDEMPOTENCY_HOURS = env_int("LEADFLOW_IDEMPOTENCY_HOURS", 24)
# Days the worker keeps processed outbox events, settled webhook deliveries and rejected form
# posts before deleting them (leadflow.notify.housekeeping).
LEADFLOW_KEEP_DAYS = env_int("LEADFLOW_KEEP_DAYS", 90)
if LEADFLOW_KEEP_DAYS < 1:
    raise ImproperlyConfigured("LEADFLOW_KEEP_DAYS must be at least 1")
LEADFLOW_FORM_POSTS_PER_MINUTE = env_int("LEADFLOW_FORM_POSTS_PER_MINUTE", 10)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LEADFLOW_LOG_LEVEL", "INFO")},
}
