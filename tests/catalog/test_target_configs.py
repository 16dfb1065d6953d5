"""Per-kind target configuration: valid configs normalise, invalid ones name the field."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Target
from catalog.target_configs import TargetConfigError, split_selector, validate_target_config
from tests.factories import ServiceFactory

VALID = {
    "kubernetes": {
        "namespace": "payments",
        "deployment": "payments-api",
        "label_selector": "app=payments-api,tier in (backend, worker),!canary",
    },
    "postgres": {"dsn_env": "PAYMENTS_DB_DSN"},
    "redis": {"url_env": "CACHE_REDIS_URL", "memory_warning_percent": 90},
    "kafka": {
        "bootstrap_servers": ["kafka-0:9092", "[::1]:9093"],
        "topics": ["orders.created"],
        "consumer_groups": ["fulfilment"],
    },
    "http": {"url": "https://example.com/healthz", "expected_status": 204, "method": "HEAD"},
}


@pytest.mark.parametrize("kind", VALID)
def test_valid_configs_are_accepted_with_defaults_filled_in(kind):
    config = validate_target_config(kind, VALID[kind])
    assert set(VALID[kind]) <= set(config)


def test_defaults_are_explicit_after_validation():
    assert validate_target_config("postgres", {"dsn_env": "DB"}) == {
        "dsn_env": "DB",
        "connect_timeout_s": 5,
        "statement_timeout_ms": 5000,
        "slow_query_seconds": 30,
    }
    assert (
        validate_target_config("kubernetes", {"namespace": "a", "deployment": "b"})["connection"]
        == "in_cluster"
    )


@pytest.mark.parametrize(
    ("kind", "config", "field", "message"),
    [
        ("kubernetes", {"deployment": "api"}, "namespace", "required"),
        (
            "kubernetes",
            {"namespace": "Payments_NS", "deployment": "api"},
            "namespace",
            "does not match",
        ),
        ("kubernetes", {"namespace": "payments"}, "deployment", "Give a deployment"),
        (
            "kubernetes",
            {"namespace": "p", "label_selector": "=api"},
            "label_selector",
            "Not a valid",
        ),
        (
            "kubernetes",
            {"namespace": "p", "label_selector": "app=api,,x"},
            "label_selector",
            "Not a valid",
        ),
        (
            "kubernetes",
            {"namespace": "p", "deployment": "d", "connection": "kubeconfig"},
            "kubeconfig_path",
            "absolute path",
        ),
        (
            "kubernetes",
            {"namespace": "p", "deployment": "d", "context": "prod"},
            "connection",
            "need connection=kubeconfig",
        ),
        (
            "postgres",
            {"dsn_env": "postgres://user:pw@db/app"},
            "dsn_env",
            "NAME of an environment variable",
        ),
        (
            "postgres",
            {"dsn_env": "DB", "dsn": "postgres://user:pw@db/app"},
            "dsn",
            "Secrets are not stored",
        ),
        (
            "postgres",
            {"dsn_env": "DB", "password": "hunter2"},
            "password",
            "Secrets are not stored",
        ),
        ("postgres", {"dsn_env": "DB", "conect_timeout_s": 3}, "conect_timeout_s", "Unknown field"),
        (
            "postgres",
            {"dsn_env": "DB", "connect_timeout_s": 0},
            "connect_timeout_s",
            "greater than or equal to 1",
        ),
        ("redis", {"url": "redis://:pw@cache:6379/0"}, "url", "Secrets are not stored"),
        (
            "redis",
            {"url_env": "X", "memory_warning_percent": 101},
            "memory_warning_percent",
            "less than or equal",
        ),
        ("kafka", {"bootstrap_servers": []}, "bootstrap_servers", "at least 1"),
        ("kafka", {"bootstrap_servers": ["kafka:notaport"]}, "bootstrap_servers", "does not match"),
        ("kafka", {"bootstrap_servers": ["kafka:99999"]}, "bootstrap_servers", "Port out of range"),
        (
            "kafka",
            {"bootstrap_servers": ["k:9092"], "topics": ["bad topic"]},
            "topics",
            "does not match",
        ),
        (
            "kafka",
            {"bootstrap_servers": ["k:9092"], "security_protocol": "SASL_SSL"},
            "sasl_mechanism",
            "Required with a SASL",
        ),
        ("http", {"url": "ftp://example.com/file"}, "url", ""),
        (
            "http",
            {"url": "https://example.com", "expected_status": 700},
            "expected_status",
            "less than or equal",
        ),
        (
            "http",
            {"url": "https://example.com", "timeout_s": 120},
            "timeout_s",
            "less than or equal",
        ),
        ("http", ["not", "an", "object"], "non_field_errors", "JSON object"),
        ("smtp", {"host": "mail"}, "kind", "Unknown target kind"),
    ],
)
def test_invalid_configs_are_rejected_with_a_field_error(kind, config, field, message):
    with pytest.raises(TargetConfigError) as caught:
        validate_target_config(kind, config)
    assert field in caught.value.errors, caught.value.errors
    assert message in str(caught.value.errors[field])


def test_selector_split_keeps_set_expressions_whole():
    assert split_selector("app=api, tier in (a, b),!canary") == [
        "app=api",
        "tier in (a, b)",
        "!canary",
    ]


@pytest.mark.django_db
def test_model_clean_reports_config_errors_for_the_admin_form():
    target = Target(
        service=ServiceFactory(), name="db", kind="postgres", config={"dsn": "postgres://x"}
    )
    with pytest.raises(ValidationError) as caught:
        target.full_clean()
    assert "config" in caught.value.message_dict
    assert "Secrets are not stored" in caught.value.message_dict["config"][0]
