"""12-factor settings: production mode is secure and `check --deploy` is clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from ops_portal import env

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "k" * 20 + "Zx9!q#Lm2$Wv7&Rt5*Yp3@Hn8^Bc4%Df6",
    "ALLOWED_HOSTS": "ops.example.com",
    "DATABASE_URL": "postgres://ops@127.0.0.1:5432/ops",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def _manage(*args: str, extra_env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_ENV", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DATABASE_URL"}
    }
    environ.update({"VAR_DIR": str(tmp_path / "var"), "STATIC_ROOT": str(tmp_path / "static")})
    environ.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", extra_env=PRODUCTION_ENV, tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_requires_a_secret_key(tmp_path):
    environ = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _manage("check", extra_env=environ, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_requires_allowed_hosts(tmp_path):
    environ = {k: v for k, v in PRODUCTION_ENV.items() if k != "ALLOWED_HOSTS"}
    result = _manage("check", extra_env=environ, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_production_refuses_debug(tmp_path):
    result = _manage("check", extra_env={**PRODUCTION_ENV, "DEBUG": "1"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_development_generates_one_secret_key_and_keeps_it(tmp_path):
    first = env.secret_key(production=False, var_dir=tmp_path)
    second = env.secret_key(production=False, var_dir=tmp_path)
    assert first == second and len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("helper", "value"),
    [(lambda: env.env_bool("X_FLAG"), "maybe"), (lambda: env.env_int("X_NUMBER", 1), "ten")],
)
def test_bad_values_fail_loudly(monkeypatch, helper, value):
    monkeypatch.setenv("X_FLAG", value)
    monkeypatch.setenv("X_NUMBER", value)
    with pytest.raises(ImproperlyConfigured):
        helper()


def test_database_url_switches_to_postgres_with_pooling():
    from ops_portal.settings import _database

    config = _database("postgres://ops:pw@db.internal:5432/ops")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["OPTIONS"]["pool"]["max_size"] >= 1
    assert config["CONN_MAX_AGE"] == 0
