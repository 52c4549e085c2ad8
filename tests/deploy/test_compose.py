"""The deployment files, checked without Docker: compose and Dockerfile parsed, ``.env.example`` against the
settings, the health check run against a local server, and the image's entry point run as a process."""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from bot.settings import Settings
from bot.storage import migrate
from handlers import texts

ROOT = Path(__file__).resolve().parents[2]
RUN_COMMAND = ["python", "-m", "bot", "run"]
COMPOSE_ONLY = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "WEBHOOK_BIND"}

_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME:-default}`` substitution (enough for this file) and ``$$`` escapes."""
    value = _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    return value.replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml as data."""
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    """The compose services by name."""
    result: dict[str, Any] = compose["services"]
    return result


def dockerfile_instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        keyword, _, rest = pending.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def env_example_names() -> dict[str, str]:
    """Every ``NAME=value`` in .env.example, commented out (``# NAME=``) or not, with its value."""
    names: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line):
            names[m.group(1)] = m.group(2)
    return names


# --- docker-compose.yml ---------------------------------------------------------------------------------


def test_compose_has_the_bot_the_database_and_migrations(services: dict[str, Any]) -> None:
    assert {"bot", "db", "migrate"} <= set(services)
    assert services["db"]["image"] == "postgres:16"
    assert services["bot"]["command"] == RUN_COMMAND
    assert services["migrate"]["command"] == ["python", "-m", "bot", "db", "upgrade"]
    assert "profiles" not in services["bot"] and "profiles" not in services["db"]  # both start by default
    assert services["bot"]["restart"] == "unless-stopped"


def test_database_has_a_named_volume_and_a_pg_isready_health_check(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    db = services["db"]
    volume, _, target = db["volumes"][0].partition(":")
    assert volume in compose["volumes"]  # a named volume, not a host folder
    assert target == "/var/lib/postgresql/data"
    check = db["healthcheck"]["test"]
    assert check[0] == "CMD-SHELL" and "pg_isready" in check[1]
    assert "$${POSTGRES_USER}" in check[1]  # escaped: expanded in the container, not by compose


def test_bot_waits_for_a_healthy_database_and_finished_migrations(services: dict[str, Any]) -> None:
    depends = services["bot"]["depends_on"]
    assert depends["db"] == {"condition": "service_healthy"}
    assert depends["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert services["migrate"]["restart"] == "no"


def test_bot_reads_env_file_and_points_at_the_db_service(services: dict[str, Any]) -> None:
    for name in ("bot", "migrate"):
        service = services[name]
        assert service["env_file"] == ".env"
        url = make_url(interpolate(service["environment"]["DATABASE_URL"], {"POSTGRES_PASSWORD": "s3cret-Pass_1"}))
        assert url.get_backend_name() == "postgresql"
        assert url.host == "db" and url.port == 5432
        db_env = services["db"]["environment"]
        assert url.username == interpolate(db_env["POSTGRES_USER"], {})
        assert url.database == interpolate(db_env["POSTGRES_DB"], {})


def test_knowledge_folder_is_mounted_where_the_bot_reads_it(services: dict[str, Any]) -> None:
    bot = services["bot"]
    mounts = [v.split(":") for v in bot["volumes"]]
    [knowledge] = [m for m in mounts if m[0] == "./knowledge"]
    assert knowledge[1] == bot["environment"]["KNOWLEDGE_DIR"] == "/app/knowledge"
    assert (ROOT / "knowledge").is_dir()


def test_only_the_webhook_profile_publishes_http_port(services: dict[str, Any]) -> None:
    published = {name: s for name, s in services.items() if s.get("ports")}
    assert published, "the webhook profile must publish HTTP_PORT"
    for name, service in published.items():
        assert service.get("profiles") == ["webhook"], f"{name} publishes a port outside the webhook profile"
        for port in service["ports"]:
            assert interpolate(port, {"HTTP_PORT": "9090"}).endswith(":9090:9090")
            assert interpolate(port, {}).endswith(":8080:8080")
    [proxy] = published.values()
    command = " ".join(proxy["command"])
    assert interpolate(command, {"HTTP_PORT": "9090"}).endswith("--to bot:9090")  # forwards to the bot's port
    assert proxy["depends_on"]["bot"] == {"condition": "service_healthy"}
    assert interpolate(services["bot"]["expose"][0], {"HTTP_PORT": "9090"}) == "9090"


def test_compose_variables_are_documented_in_env_example(repo_root: Path) -> None:
    used = set(_VAR.findall((repo_root / "docker-compose.yml").read_text(encoding="utf-8")))
    names = {name for name, _ in used}
    assert names <= set(env_example_names()), names - set(env_example_names())


# --- Dockerfile -----------------------------------------------------------------------------------------


def test_dockerfile_runs_the_bot_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "the image must switch to a non-root user"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    created = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert re.search(rf"useradd\b[^&]*--uid {user}\b", created), "the USER must be created in the image"
    cmd = [args for keyword, args in instructions if keyword == "CMD"]
    assert json.loads(cmd[-1]) == RUN_COMMAND


def test_dockerfile_installs_the_package_and_ships_knowledge() -> None:
    instructions = dockerfile_instructions()
    copies = [args for keyword, args in instructions if keyword == "COPY"]
    assert any(args.split()[-2:] == ["knowledge", "/app/knowledge"] for args in copies)
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "pip install --require-hashes -r /src/requirements.lock" in runs  # the pinned tree, nothing resolved
    assert "--no-deps /src" in runs
    assert "text_normalize" in runs and "word_tokenize" in runs  # underthesea resources checked at build
    assert "curl" not in runs and "wget" not in runs
    dockerignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".git", "data"} <= set(dockerignore)
    assert not {"bot", "handlers", "knowledge", "pyproject.toml"} & set(dockerignore)


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.HTTPServer]:
    """A local server answering ``/healthz`` with ``_Health.status``."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_healthcheck_command_passes_on_200_and_fails_on_503(health_server: http.server.HTTPServer) -> None:
    [health] = [args for keyword, args in dockerfile_instructions() if keyword == "HEALTHCHECK"]
    assert "--interval" in health
    command = json.loads(health.split(" CMD ", 1)[1])
    assert command[0] == "python" and "urllib" in command[-1] and "/healthz" in command[-1]
    env = {**os.environ, "HTTP_PORT": str(health_server.server_address[1])}
    run = [sys.executable, *command[1:]]
    assert subprocess.run(run, env=env, capture_output=True, timeout=20).returncode == 0
    _Health.status = 503
    try:
        assert subprocess.run(run, env=env, capture_output=True, timeout=20).returncode != 0
    finally:
        _Health.status = 200


# --- .env.example ---------------------------------------------------------------------------------------


def test_env_example_names_every_setting_with_a_comment() -> None:
    names = env_example_names()
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - set(names) == set(), "settings missing from .env.example"
    assert set(names) - fields - COMPOSE_ONLY == set(), "unknown names in .env.example"
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines):
        m = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if m and m.group(1) in fields:
            assert n > 0 and lines[n - 1].startswith("# ") and "=" not in lines[n - 1].split()[1], line


def test_env_example_loads_to_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    loaded = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert loaded.model_dump() == defaults.model_dump()
    assert loaded.telegram_bot_token is None and loaded.telegram_webhook_secret is None
    assert not loaded.zalo_enabled


# --- the image's entry point, outside Docker --------------------------------------------------------------


def test_entry_point_answers_in_the_terminal_and_exits_cleanly(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.db"
    env = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in {name.upper() for name in Settings.model_fields}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        KNOWLEDGE_DIR=str(ROOT / "knowledge"),  # what the image copies
        PYTHONPATH=str(ROOT),
        PYTHONIOENCODING="utf-8",
    )
    command = [sys.executable, *RUN_COMMAND[1:]]
    done = subprocess.run(
        command,
        input="/start\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    greeting = texts.START.split("**")[0].strip()  # "Xin chào! Mình là"
    assert done.stdout.count(greeting) >= 2, done.stdout  # the automatic /start and the one typed on stdin
    assert done.stdout.rstrip().endswith(texts.TERMINAL_BYE)
    assert migrate.current_revision(f"sqlite:///{database}") == migrate.head_revision()
    assert shlex.join(RUN_COMMAND) == "python -m bot run"
