"""docker-compose.yml and the Dockerfile stay in step with the Procfile and settings.py.

No Docker needed: the files are parsed. Compose commands are compared with the Procfile lines
after resolving `${VAR:-default}` the way each side would see it: compose interpolates from the
shell running `docker compose` (assumed unset, so the default applies), while a Procfile line is
expanded by a shell inside the container, so its variables take the service's `environment:`
value when it sets one and the default otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import dj_database_url
import pytest
import redis
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]

# compose service -> Procfile process type whose command it runs
APP_SERVICES = {
    "migrate": "release",
    "web": "web",
    "ws": "ws",
    "worker": "worker",
    "probes": "probes",
    "beat": "beat",
}
# Variables the processes read that are not settings: PROMETHEUS_MULTIPROC_DIR (prometheus-client
# and ops_portal/metrics.py) and DJANGO_SETTINGS_MODULE (Django). Variables used in the Procfile
# lines (PORT, WEB_CONCURRENCY, ...) are added from the Procfile itself.
INFRASTRUCTURE_VARS = {"PROMETHEUS_MULTIPROC_DIR", "DJANGO_SETTINGS_MODULE"}

_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def _procfile() -> dict[str, str]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        processes[name.strip()] = command.strip()
    return processes


PROCFILE = _procfile()


def _shell_expand(text: str, environment: dict[str, str]) -> str:
    """`${NAME:-default}` / `${NAME}` as sh expands them with `environment`."""

    def replace(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        value = environment.get(name)
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg
        if value is None:
            raise AssertionError(f"{name} is used without a default and is not set")
        return value

    expanded = _VAR.sub(replace, text)
    assert "$" not in expanded, f"unresolved variable in {text!r}"
    return expanded


def _compose_default(match: re.Match) -> str:
    if match["op"] in (":-", "-"):
        return match["arg"]
    if match["op"] in (":?", "?"):
        return f"<required {match['name']}>"
    raise AssertionError(f"${{{match['name']}}} has no default in docker-compose.yml")


def _compose_interpolate(value: str) -> str:
    """Compose interpolation with nothing set in the shell: defaults apply, `$$` is a `$`."""
    return "$".join(_VAR.sub(_compose_default, part) for part in value.split("$$"))


def _environment(service: dict) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {name: "" if value is None else str(value) for name, value in raw.items()}


def _command_tokens(service: dict) -> list[str]:
    command = service["command"]
    tokens = shlex.split(command) if isinstance(command, str) else [str(t) for t in command]
    return [_compose_interpolate(token) for token in tokens]


def _settings_env_vars() -> set[str]:
    source = (ROOT / "ops_portal" / "settings.py").read_text()
    names = set(re.findall(r"\benv_(?:str|bool|int|list|choice)\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    if re.search(r"\bsecret_key\(", source):
        names.add("SECRET_KEY")  # read by ops_portal.env.secret_key
    return names


def _procfile_vars() -> set[str]:
    return {match["name"] for command in PROCFILE.values() for match in _VAR.finditer(command)}


# --- docker-compose.yml -----------------------------------------------------------------------


def test_compose_has_the_production_stack():
    assert set(SERVICES) >= {"postgres", "redis", *APP_SERVICES}
    assert set(APP_SERVICES.values()) <= set(PROCFILE), "Procfile lost a process type"


def test_every_app_service_runs_the_same_image_built_from_the_dockerfile():
    builds = {name: SERVICES[name].get("build") for name in APP_SERVICES}
    images = {name: SERVICES[name].get("image") for name in APP_SERVICES}
    assert len({json.dumps(b, sort_keys=True) for b in builds.values()}) == 1, builds
    assert len(set(images.values())) == 1 and None not in images.values(), images
    build = builds["web"]
    context, dockerfile = (
        (build, "Dockerfile")
        if isinstance(build, str)
        else (build.get("context", "."), build.get("dockerfile", "Dockerfile"))
    )
    assert (ROOT / context / dockerfile).resolve() == ROOT / "Dockerfile"


@pytest.mark.parametrize(("service", "process"), sorted(APP_SERVICES.items()))
def test_service_command_is_its_procfile_line(service, process):
    environment = {
        name: _compose_interpolate(value) for name, value in _environment(SERVICES[service]).items()
    }
    expected = shlex.split(_shell_expand(PROCFILE[process], environment))
    actual = _command_tokens(SERVICES[service])
    # Exec form: no shell in the container would expand anything left over.
    assert not [token for token in actual if "$" in token], actual
    assert actual == expected


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_web_workers_are_preloaded_and_recycled_rarely():
    """A surge must not restart workers mid-run (bench/README.md, "Status surge"): at ~1,400
    req/s a worker, `--max-requests 2000` restarted each every ~1.5 s and halved the status
    page's throughput. Recycling stays as a guard against slow leaks, a minute apart at surge
    rates, and `--preload` makes each restart a fork of the loaded master (0.1 s of CPU, not
    0.9 s of Django start-up) on the CPUs that are serving."""
    argv = shlex.split(_shell_expand(PROCFILE["web"], {}))
    assert "--preload" in argv
    max_requests = int(_option(argv, "--max-requests"))
    jitter = int(_option(argv, "--max-requests-jitter"))
    assert max_requests >= 100_000
    assert 0 < jitter <= max_requests // 5  # spread: both workers never restart together


def test_postgres_redis_and_web_have_healthchecks():
    postgres = SERVICES["postgres"]["healthcheck"]
    redis_check = SERVICES["redis"]["healthcheck"]
    web = SERVICES["web"]["healthcheck"]
    for check in (postgres, redis_check, web):
        assert not check.get("disable"), check
    assert "pg_isready" in " ".join(postgres["test"])
    assert "redis-cli ping" in " ".join(redis_check["test"])
    assert "/health" in " ".join(web["test"])
    assert "8000" in web["test"], "web's probe must target its gunicorn port"


def test_startup_order():
    web = SERVICES["web"]["depends_on"]
    assert web["migrate"]["condition"] == "service_completed_successfully"
    assert web["redis"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert SERVICES["migrate"].get("restart") in (None, "no"), "a one-shot must not restart"
    for name in ("ws", "worker", "beat"):
        conditions = SERVICES[name]["depends_on"]
        assert conditions["migrate"]["condition"] == "service_completed_successfully", name


def test_published_ports_match_the_procfile_defaults():
    assert "8000:8000" in SERVICES["web"]["ports"]
    assert "8001:8001" in SERVICES["ws"]["ports"]


def test_beat_is_a_single_replica_with_its_schedule_on_a_volume():
    beat = SERVICES["beat"]
    assert beat.get("deploy", {}).get("replicas", 1) == 1
    var_dir = _environment(beat)["VAR_DIR"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in beat["volumes"]}
    assert mounts.get(var_dir) in (COMPOSE.get("volumes") or {}), beat["volumes"]


def test_compose_passes_only_variables_the_code_reads():
    known = _settings_env_vars()
    # Guard against the pattern silently matching nothing after a refactor of settings.py.
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_ENV", "VAR_DIR"} <= known
    assert "PROMETHEUS_MULTIPROC_DIR" in (ROOT / "ops_portal" / "metrics.py").read_text()
    allowed = known | _procfile_vars() | INFRASTRUCTURE_VARS
    for name in APP_SERVICES:
        unknown = set(_environment(SERVICES[name])) - allowed
        assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"


def test_compose_environment_is_production_and_needs_a_real_secret_key():
    for name in APP_SERVICES:
        environment = _environment(SERVICES[name])
        assert environment["DJANGO_ENV"] == "production", name
        # Required from the shell, never a default baked into the file.
        assert re.fullmatch(r"\$\{SECRET_KEY:?\?[^}]*\}", environment["SECRET_KEY"]), name
        assert _compose_interpolate(environment["ALLOWED_HOSTS"]), name
        # Plain http://localhost must work out of the box.
        assert _compose_interpolate(environment["SECURE_SSL_REDIRECT"]) in {"0", "false", "no"}


def test_compose_database_and_redis_urls_point_at_the_compose_services():
    environment = _environment(SERVICES["web"])
    database = dj_database_url.parse(environment["DATABASE_URL"])
    assert database["ENGINE"] == "django.db.backends.postgresql"
    postgres_env = _environment(SERVICES["postgres"])
    assert database["HOST"] == "postgres"
    assert int(database["PORT"]) == 5432
    assert database["NAME"] == postgres_env["POSTGRES_DB"]
    assert database["USER"] == postgres_env["POSTGRES_USER"]
    assert database["PASSWORD"] == postgres_env["POSTGRES_PASSWORD"]

    pool = redis.ConnectionPool.from_url(environment["REDIS_URL"])
    assert pool.connection_kwargs["host"] == "redis"
    assert pool.connection_kwargs.get("port", 6379) == 6379
    assert pool.connection_kwargs.get("db", 0) == 0


def test_compose_environment_is_accepted_by_production_settings(tmp_path):
    """The values compose passes (defaults resolved) pass `manage.py check` in production."""
    environment = {
        name: _compose_interpolate(value) for name, value in _environment(SERVICES["web"]).items()
    }
    environment["SECRET_KEY"] = "compose-test-" + "x" * 50
    environment["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "prometheus")
    (tmp_path / "prometheus").mkdir()
    base = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "VIRTUAL_ENV"}
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**base, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- Dockerfile -------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comment lines dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        if full:
            keyword, _, arguments = full.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_dockerfile_is_multi_stage_with_a_builder():
    froms = [args for keyword, args in _dockerfile_instructions() if keyword == "FROM"]
    assert len(froms) >= 2
    assert any(re.search(r"\bAS\s+builder\b", args, re.IGNORECASE) for args in froms)
    assert "--from=builder" in " ".join(
        args for keyword, args in _final_stage() if keyword == "COPY"
    )


def test_dockerfile_runs_as_a_non_root_user():
    users = [args for keyword, args in _final_stage() if keyword == "USER"]
    assert users, "the runtime stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_dockerfile_healthcheck_probes_health():
    checks = [args for keyword, args in _final_stage() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1 and "/health" in checks[0] and "urllib" in checks[0]


def test_dockerfile_exposes_web_and_ws_ports():
    exposed = {
        port for keyword, args in _final_stage() if keyword == "EXPOSE" for port in args.split()
    }
    assert {"8000", "8001"} <= exposed


def test_dockerfile_default_command_is_the_procfile_web_line():
    commands = [args for keyword, args in _final_stage() if keyword == "CMD"]
    assert commands
    assert json.loads(commands[-1]) == ["sh", "-c", "exec " + PROCFILE["web"]]


def test_dockerfile_collects_static_files_for_the_production_storage():
    """Production serves static files through the manifest storage, so collectstatic must run
    in production mode; its SECRET_KEY is a throwaway scoped to that one RUN."""
    runs = [
        args for keyword, args in _final_stage() if keyword == "RUN" and "collectstatic" in args
    ]
    assert len(runs) == 1
    assert "DJANGO_ENV=production" in runs[0] and "SECRET_KEY=" in runs[0]
    persisted = [
        args
        for keyword, args in _dockerfile_instructions()
        if keyword in {"ENV", "ARG"} and re.search(r"\b(SECRET_KEY|DJANGO_ENV)\b", args)
    ]
    assert not persisted, persisted
