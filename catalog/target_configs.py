"""Per-kind validation of a diagnostic target's `config`.

One schema class per kind, registered in `CONFIG_SCHEMAS`. The schemas are DRF serializers so
the same class validates the admin form, the REST API and `seed_demo`, and documents the shape
in the OpenAPI schema. Unknown keys are rejected: a typo must not silently disable a check, and
a pasted secret (`dsn`, `password`) must not be stored.
"""

from __future__ import annotations

import re

from rest_framework import serializers

from .models import TargetKind

ENV_VAR_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
LABEL_KEY = r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
LABEL_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"
SELECTOR_TERM = re.compile(
    rf"^(!?{LABEL_KEY}|{LABEL_KEY}\s*(=|==|!=)\s*{LABEL_VALUE}"
    rf"|{LABEL_KEY}\s+(in|notin)\s+\(\s*{LABEL_VALUE}(\s*,\s*{LABEL_VALUE})*\s*\))$"
)
HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")
KAFKA_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")

# Keys people paste by habit that would put a secret in the database.
SECRET_KEYS = {"dsn", "url", "password", "uri", "connection_string", "token", "secret"}


class TargetConfigError(Exception):
    def __init__(self, errors: dict):
        super().__init__("invalid target config")
        self.errors = errors

    def as_messages(self) -> list[str]:
        messages = []
        for field, problems in self.errors.items():
            for problem in problems if isinstance(problems, list) else [problems]:
                messages.append(f"{field}: {problem}")
        return messages


def env_var_name(value: str) -> str:
    if not ENV_VAR_NAME.match(value):
        raise serializers.ValidationError(
            "Must be the NAME of an environment variable (e.g. PAYMENTS_DB_DSN), not its value."
        )
    return value


def split_selector(selector: str) -> list[str]:
    """Split a label selector on the commas that are not inside `in (...)` sets."""
    terms, depth, current = [], 0, []
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    terms.append("".join(current).strip())
    return terms


class StrictSchema(serializers.Serializer):
    """Reject keys the schema does not know, naming the secret-bearing ones explicitly."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Must be a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        errors = {}
        for key in unknown:
            if key.lower() in SECRET_KEYS:
                errors[key] = [
                    "Secrets are not stored here: put the value in an environment variable "
                    "and give its name in the *_env field."
                ]
            else:
                errors[key] = ["Unknown field."]
        if not errors:
            return super().to_internal_value(data)
        # Report the unknown keys together with what the known ones lack, in one answer.
        try:
            super().to_internal_value({key: data[key] for key in data if key in self.fields})
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                errors.update(exc.detail)
        raise serializers.ValidationError(errors)


class KubernetesConfig(StrictSchema):
    namespace = serializers.RegexField(DNS_LABEL, max_length=63)
    deployment = serializers.RegexField(DNS_SUBDOMAIN, max_length=253, required=False)
    label_selector = serializers.CharField(max_length=500, required=False)
    service = serializers.RegexField(
        DNS_LABEL, max_length=63, required=False, help_text="Service whose endpoints to check."
    )
    container = serializers.RegexField(DNS_LABEL, max_length=63, required=False)
    connection = serializers.ChoiceField(choices=["in_cluster", "kubeconfig"], default="in_cluster")
    kubeconfig_path = serializers.CharField(max_length=500, required=False)
    context = serializers.CharField(max_length=253, required=False)
    min_replicas = serializers.IntegerField(
        min_value=0,
        max_value=10_000,
        required=False,
        help_text="Lowest count the scale action may set.",
    )
    max_replicas = serializers.IntegerField(
        min_value=0,
        max_value=10_000,
        required=False,
        help_text="Highest count the scale action may set.",
    )

    def validate_label_selector(self, value: str) -> str:
        bad = [term for term in split_selector(value) if not SELECTOR_TERM.match(term)]
        if bad:
            raise serializers.ValidationError(f"Not a valid label selector term: {bad[0]!r}.")
        return value

    def validate(self, attrs):
        if not attrs.get("deployment") and not attrs.get("label_selector"):
            raise serializers.ValidationError(
                {"deployment": ["Give a deployment, a label_selector, or both."]}
            )
        low, high = attrs.get("min_replicas"), attrs.get("max_replicas")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_replicas": ["Must be at least min_replicas."]})
        if attrs["connection"] == "kubeconfig":
            path = attrs.get("kubeconfig_path", "")
            if not path.startswith("/"):
                raise serializers.ValidationError(
                    {
                        "kubeconfig_path": [
                            "An absolute path is required with connection=kubeconfig."
                        ]
                    }
                )
        elif attrs.get("kubeconfig_path") or attrs.get("context"):
            raise serializers.ValidationError(
                {"connection": ["kubeconfig_path and context need connection=kubeconfig."]}
            )
        return attrs


class PostgresConfig(StrictSchema):
    dsn_env = serializers.CharField(
        max_length=128, validators=[env_var_name], help_text="Env var holding the DSN."
    )
    connect_timeout_s = serializers.IntegerField(min_value=1, max_value=30, default=5)
    statement_timeout_ms = serializers.IntegerField(min_value=100, max_value=60_000, default=5_000)
    slow_query_seconds = serializers.IntegerField(min_value=1, max_value=86_400, default=30)


class RedisConfig(StrictSchema):
    url_env = serializers.CharField(
        max_length=128, validators=[env_var_name], help_text="Env var holding the redis:// URL."
    )
    connect_timeout_s = serializers.IntegerField(min_value=1, max_value=30, default=3)
    memory_warning_percent = serializers.IntegerField(min_value=1, max_value=100, default=80)


class KafkaConfig(StrictSchema):
    bootstrap_servers = serializers.ListField(
        child=serializers.RegexField(HOST_PORT, max_length=260), min_length=1, max_length=50
    )
    topics = serializers.ListField(
        child=serializers.RegexField(KAFKA_NAME), required=False, max_length=200, default=list
    )
    consumer_groups = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, max_length=200, default=list
    )
    lag_warning = serializers.IntegerField(min_value=0, default=1000)
    security_protocol = serializers.ChoiceField(
        choices=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"], default="PLAINTEXT"
    )
    sasl_mechanism = serializers.ChoiceField(
        choices=["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], required=False
    )
    sasl_username_env = serializers.CharField(
        max_length=128, validators=[env_var_name], required=False
    )
    sasl_password_env = serializers.CharField(
        max_length=128, validators=[env_var_name], required=False
    )

    def validate_bootstrap_servers(self, value: list[str]) -> list[str]:
        for server in value:
            port = int(HOST_PORT.match(server).group(2))
            if not 0 < port < 65536:
                raise serializers.ValidationError(f"Port out of range in {server!r}.")
        return value

    def validate(self, attrs):
        if attrs["security_protocol"].startswith("SASL_"):
            missing = [
                key
                for key in ("sasl_mechanism", "sasl_username_env", "sasl_password_env")
                if not attrs.get(key)
            ]
            if missing:
                raise serializers.ValidationError(
                    {key: ["Required with a SASL security protocol."] for key in missing}
                )
        return attrs


class HttpConfig(StrictSchema):
    url = serializers.URLField(max_length=2000)
    method = serializers.ChoiceField(choices=["GET", "HEAD"], default="GET")
    expected_status = serializers.IntegerField(min_value=100, max_value=599, default=200)
    timeout_s = serializers.FloatField(min_value=0.1, max_value=30, default=5.0)
    body_contains = serializers.CharField(max_length=200, required=False)
    verify_tls = serializers.BooleanField(default=True)

    def validate_url(self, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Only http:// and https:// URLs can be probed.")
        return value


CONFIG_SCHEMAS: dict[str, type[StrictSchema]] = {
    TargetKind.KUBERNETES: KubernetesConfig,
    TargetKind.POSTGRES: PostgresConfig,
    TargetKind.REDIS: RedisConfig,
    TargetKind.KAFKA: KafkaConfig,
    TargetKind.HTTP: HttpConfig,
}


def validate_target_config(kind: str, config) -> dict:
    """Return the normalized config (defaults filled in) or raise TargetConfigError."""
    schema_class = CONFIG_SCHEMAS.get(kind)
    if schema_class is None:
        raise TargetConfigError({"kind": [f"Unknown target kind {kind!r}."]})
    schema = schema_class(data=config)
    if not schema.is_valid():
        raise TargetConfigError(_plain(schema.errors))
    return dict(schema.validated_data)


def _plain(errors) -> dict:
    """DRF ErrorDetail objects → plain strings, so errors serialise anywhere."""
    if isinstance(errors, dict):
        return {key: _plain(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [_plain(value) for value in errors]
    return str(errors)
