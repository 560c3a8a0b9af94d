"""Static checks of the production docker-compose.yml and Dockerfile (no Docker needed)."""

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
APP_SERVICES = ["migrate", "worker", "beat", "flower"]
LONG_RUNNING = ["redis", "postgres", "worker", "flower"]
# Subcommands of the `copydesk` CLI (checked against the real CLI elsewhere).
SERVICE_COMMANDS = {"run", "worker", "beat", "flower", "ping", "db"}
TOOL_COMMANDS = {"enqueue", "dedup", "clusters", "show", "extract", "failures", "export"}
CLI_SUBCOMMANDS = SERVICE_COMMANDS | TOOL_COMMANDS
# `${VAR:?message}`: compose refuses to start when VAR is unset or empty.
REQUIRED_VAR = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:\?[^}]+\}$")


def env(service: str) -> dict[str, str]:
    raw = SERVICES[service].get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: str(value) for key, value in raw.items()}


def test_expected_services_exist() -> None:
    assert set(SERVICES) == {"redis", "postgres", "migrate", "worker", "beat", "flower"}
    assert "version" not in COMPOSE


def test_only_flower_publishes_a_port() -> None:
    published = {name: svc["ports"] for name, svc in SERVICES.items() if svc.get("ports")}
    assert published == {"flower": ["5555:5555"]}
    assert "ports" not in SERVICES["redis"]
    assert "ports" not in SERVICES["postgres"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_build_repo_and_run_a_cli_subcommand(name: str) -> None:
    svc = SERVICES[name]
    build = svc.get("build")
    context = build.get("context") if isinstance(build, dict) else build
    assert context in {".", "./"}, f"{name} must build the repo root, got {build!r}"
    command = svc["command"]
    words = command.split() if isinstance(command, str) else command
    assert words[0] in CLI_SUBCOMMANDS, f"{name}: {words[0]!r} is not a copydesk subcommand"


def test_migrate_runs_db_upgrade_once() -> None:
    assert SERVICES["migrate"]["command"] == ["db", "upgrade"]
    assert SERVICES["migrate"]["restart"] == "no"


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_worker_and_beat_use_postgres_and_redis(name: str) -> None:
    assert env(name)["COPYDESK_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env(name)["COPYDESK_REDIS_URL"].startswith("redis://redis:")
    assert "app-data:/data" in SERVICES[name]["volumes"]


def test_secrets_are_required_variables_without_defaults() -> None:
    assert REQUIRED_VAR.match(env("flower")["COPYDESK_FLOWER_BASIC_AUTH"])
    assert REQUIRED_VAR.match(env("postgres")["POSTGRES_PASSWORD"])
    password_in_url = re.match(r"^[^:]+://[^:@/]+:(.+)@", env("worker")["COPYDESK_DATABASE_URL"])
    assert password_in_url and REQUIRED_VAR.match(password_in_url.group(1))


def test_no_literal_password_anywhere() -> None:
    for name in SERVICES:
        for key, value in env(name).items():
            if re.search(r"PASSWORD|PASSWD|SECRET|AUTH|TOKEN", key):
                assert REQUIRED_VAR.match(value), f"{name}.{key} must be ${{VAR:?...}}, got {value!r}"
    # user:password@host with a literal password (not a ${...} reference).
    assert not re.search(r"://[^\s:@/]+:(?!\$\{)[^\s@/]+@", COMPOSE_TEXT)
    # A default value (${VAR:-x} or ${VAR-x}) on any secret-looking variable.
    assert not re.search(r"\$\{\w*(PASSWORD|SECRET|AUTH|TOKEN)\w*:?-", COMPOSE_TEXT)


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_healthchecks(name: str) -> None:
    check = SERVICES[name].get("healthcheck") or {}
    assert check.get("test") and not check.get("disable"), f"{name} needs a healthcheck"


def test_specific_healthchecks() -> None:
    assert "redis-cli" in SERVICES["redis"]["healthcheck"]["test"]
    assert "pg_isready" in SERVICES["postgres"]["healthcheck"]["test"]
    assert "/healthcheck" in " ".join(SERVICES["flower"]["healthcheck"]["test"])


def test_exactly_one_beat() -> None:
    assert SERVICES["beat"]["deploy"]["replicas"] == 1


def test_worker_waits_for_dependencies() -> None:
    deps = SERVICES["worker"]["depends_on"]
    assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert deps["redis"]["condition"] == "service_healthy"
    assert deps["postgres"]["condition"] == "service_healthy"


def test_dockerfile_runs_unprivileged_copydesk() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [line.split(None, 1)[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    entrypoints = [line.split(None, 1)[1] for line in lines if line.startswith("ENTRYPOINT ")]
    assert entrypoints and json.loads(entrypoints[-1]) == ["copydesk"]


# Local state, never part of the repository or the image (see .gitignore and .dockerignore).
NOT_SOURCE = {".git", ".venv", "venv", ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}
SECRET_SHAPES = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
}


def test_no_secrets_in_the_repository() -> None:
    found = []
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & NOT_SOURCE or "data" in path.relative_to(ROOT).parts[:1] or not path.is_file():
            continue
        if path.stat().st_size > 2_000_000 or path.suffix in {".db", ".gz", ".png", ".jpg"}:
            continue
        text = path.read_text(errors="replace")
        found += [f"{path.relative_to(ROOT)}: {name}" for name, shape in SECRET_SHAPES.items() if shape.search(text)]
    assert not found
    # Where secrets do live locally (.env for compose), neither git nor the image build may pick them up.
    for ignore in (".gitignore", ".dockerignore"):
        assert ".env" in (ROOT / ignore).read_text().split(), ignore
