"""Settings of the baseline: bare Django, no apps, no middleware, no database.

ARCHITECTURE.md §7 fixes this as the yardstick every benchmark is divided by; adding anything
here makes the baseline slower and flatters the portal's ratios.
"""

SECRET_KEY = "bench-baseline-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.hello_urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
TEMPLATES: list = []
USE_TZ = True
