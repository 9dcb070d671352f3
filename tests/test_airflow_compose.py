"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so they are checked against the
code: the file parses; every service's image, command, volumes and environment agree with what the code
reads; the DAG folder is mounted; the pool and entry points exist; the stack runs the demo project
(examples/kaufhaus-nord) with its sales silo switched to PostgreSQL by environment variables, and that
configuration really runs the pipeline on a PostgreSQL sales database.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from customer360 import orchestration
from customer360.core.config import load_config

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
COMPOSE_CONFIG = REPO / "examples" / "kaufhaus-nord" / "customer360.yml"
INIT = REPO / "docker" / "init.sh"
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _env_names_read_by_the_code() -> set[str]:
    """Every C360_* name the code, the configurations and the dbt profile mention."""
    names: set[str] = set()
    files = [*REPO.glob("customer360/**/*.py"), *REPO.glob("expectations/**/*.py"), *REPO.glob("dags/*.py")]
    files += [COMPOSE_CONFIG, REPO / "dbt_project" / "profiles.yml"]
    for path in files:
        names |= set(re.findall(r"C360_[A-Z0-9_]*[A-Z0-9]", path.read_text(encoding="utf-8")))
    return names


def _placeholders(path: Path) -> set[str]:
    return set(re.findall(r"\$\{(C360_[A-Z0-9_]+)", path.read_text(encoding="utf-8")))


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_compose_file_parses_and_has_the_stack(compose) -> None:
    services = compose["services"]
    assert set(AIRFLOW_SERVICES) <= set(services)
    assert {"airflow-db", "sales-db", "init", "helpdesk", "console"} <= set(services)
    assert {"c360-data", "airflow-db", "sales-db"} <= set(compose["volumes"])


def test_airflow_runs_its_four_components_on_postgresql_metadata(compose) -> None:
    for name, component in AIRFLOW_SERVICES.items():
        service = compose["services"][name]
        assert _command(service) == ["airflow", component], name
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://")
        assert "@airflow-db:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert service["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert compose["services"]["airflow-db"]["image"].startswith("postgres:")


def test_the_dag_folder_is_mounted_where_airflow_looks(compose) -> None:
    for name in ("airflow-scheduler", "airflow-dag-processor"):
        service = compose["services"][name]
        folder = service["environment"]["AIRFLOW__CORE__DAGS_FOLDER"]
        assert f"./dags:{folder}:ro" in service["volumes"]
        assert (REPO / "dags").is_dir()


def test_every_customer360_service_is_built_from_the_dockerfile(compose) -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "uv sync --frozen --all-extras" in dockerfile
    for name, service in compose["services"].items():
        if service.get("image", "").startswith(("postgres:", "caddy:")):  # off the shelf
            continue
        assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
        assert service["image"] == "customer360:local", name


def test_the_warehouse_volume_is_shared_by_the_tasks_the_parser_and_the_console(compose) -> None:
    services = compose["services"]
    data_dir = services["console"]["environment"]["C360_DATA_DIR"]
    for name in ("init", "airflow-scheduler", "airflow-dag-processor", "console", "helpdesk"):
        mounts = [volume.split(":")[:2] for volume in services[name]["volumes"]]
        assert ["c360-data", data_dir] in mounts, name


def test_every_c360_variable_set_is_one_the_code_or_configuration_reads(compose) -> None:
    known = _env_names_read_by_the_code()
    for name, service in compose["services"].items():
        for variable in service.get("environment") or {}:
            if variable.startswith("C360_"):
                assert variable in known, f"{name} sets {variable}, which nothing reads"


def test_every_placeholder_of_the_stack_configuration_is_set(compose) -> None:
    """The stack runs the demo project with the sales silo on PostgreSQL: the variables that switch it are set."""
    for name in ("init", "airflow-scheduler", "airflow-dag-processor", "console"):
        env = compose["services"][name]["environment"]
        assert env["C360_CONFIG"] == "/app/examples/kaufhaus-nord/customer360.yml"
        assert env["C360_SALES_CONNECTOR"] == "postgres" and env["C360_SALES_DSN"], name
        assert _placeholders(COMPOSE_CONFIG) <= set(env) | {"C360_HELPDESK_TOKEN"}, name


def test_the_stack_refuses_to_start_with_default_secrets() -> None:
    """Every password, token and key is `${VAR:?…}`: `docker compose up` stops until .env sets it, and the example
    .env holds no value to copy (issue 16)."""
    text = COMPOSE.read_text(encoding="utf-8")
    secrets = set(re.findall(r"\$\{(\w*(?:PASSWORD|SECRET|TOKEN|KEY)\w*)", text))
    assert secrets == {
        "AIRFLOW_DB_PASSWORD",
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_FERNET_KEY",
        "SALES_DB_PASSWORD",
        "HELPDESK_TOKEN",
    }
    assert all(re.search(rf"\$\{{{name}:\?[^}}]+\}}", text) for name in secrets)
    assert not re.search(r"\$\{\w*(?:PASSWORD|SECRET|TOKEN|KEY)\w*:-", text)  # no default anywhere
    example = dict(
        line.split("=", 1)
        for line in (REPO / "docker/.env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert all(example[name] == "" for name in secrets)


def test_the_console_is_served_only_through_tls_with_secure_cookies(compose, monkeypatch) -> None:
    from customer360.console.settings import ConsoleSettings

    console, proxy = compose["services"]["console"], compose["services"]["console-proxy"]
    assert "ports" not in console  # no way around the proxy
    caddyfile = (REPO / "docker/Caddyfile").read_text(encoding="utf-8")
    assert (
        "reverse_proxy console:8000" in caddyfile and "./docker/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    )
    for name in ("C360_CONSOLE_SECURE_COOKIES", "C360_CONSOLE_TRUSTED_PROXIES"):
        monkeypatch.setenv(name, console["environment"][name])
    settings = ConsoleSettings()  # what the console reads from the stack's environment
    proxy_address = proxy["networks"]["edge"]["ipv4_address"]
    assert settings.secure_cookies and [str(network) for network in settings.trusted_proxies] == [f"{proxy_address}/32"]


def test_the_silos_the_configuration_reads_are_services_of_the_stack(compose) -> None:
    env = compose["services"]["airflow-scheduler"]["environment"]
    assert env["C360_SALES_DSN"].startswith("host=sales-db port=5432 dbname=shop user=shop")
    sales = compose["services"]["sales-db"]["environment"]
    assert sales["POSTGRES_DB"] == "shop" and sales["POSTGRES_USER"] == "shop"
    helpdesk = _command(compose["services"]["helpdesk"])
    assert env["C360_HELPDESK_URL"] == f"http://helpdesk:{helpdesk[helpdesk.index('--port') + 1]}/api/v2"
    assert helpdesk[3] == f"{env['C360_SILOS_DIR']}/service"


def test_commands_name_entry_points_that_exist(compose) -> None:
    import typer

    from customer360.cli import app

    c360_commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    for name, service in compose["services"].items():
        command = _command(service)
        if not command:
            continue
        if command[0] == "c360":
            assert command[1] in c360_commands, name
        elif command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(command[2]) is not None, name
        elif command[0] == "bash":
            assert (REPO / command[1].removeprefix("/app/")).is_file(), name
    console = _command(compose["services"]["console"])
    assert console == ["c360", "serve", "--host", "0.0.0.0", "--port", "8000"]
    init = INIT.read_text(encoding="utf-8")
    for used in re.findall(r"^\s*c360 ([a-z-]+)", init, flags=re.MULTILINE):
        assert used in c360_commands, used


def test_init_creates_the_pool_the_dags_use() -> None:
    init = INIT.read_text(encoding="utf-8")
    pool = f"airflow pools set {orchestration.WAREHOUSE_POOL} {orchestration.WAREHOUSE_POOL_SLOTS} "
    assert pool in init
    assert "airflow db migrate" in init
    assert "load_sales_into_postgres" in init
    assert pool in (REPO / "Makefile").read_text(encoding="utf-8")


def test_stack_configuration_is_the_demo_project_with_sales_on_postgresql(monkeypatch) -> None:
    demo = load_config(COMPOSE_CONFIG)
    monkeypatch.setenv("C360_SALES_CONNECTOR", "postgres")
    monkeypatch.setenv("C360_SALES_DSN", "host=sales-db dbname=shop user=shop")
    monkeypatch.setenv("C360_DATA_DIR", "/data")
    monkeypatch.setenv("C360_SILOS_DIR", "/data/silos")
    stack = load_config(COMPOSE_CONFIG)
    assert (demo.source("sales").connector, stack.source("sales").connector) == ("sqlite", "postgres")
    assert stack.source("sales").dsn == "host=sales-db dbname=shop user=shop"
    assert stack.source("sales").tables == demo.source("sales").tables
    assert stack.warehouse_path == Path("/data/warehouse/customer360.duckdb")


@pytest.mark.postgres
@pytest.mark.integration
@pytest.mark.slow
def test_the_stack_configuration_runs_the_pipeline_on_a_postgresql_sales_silo(postgres_dsn, tmp_path) -> None:
    """What the compose stack does, without Docker: demo silos, sales loaded into PostgreSQL by the demo
    loader, then `c360 run` with the demo project switched to PostgreSQL as docker-compose.yml does."""
    import duckdb
    from c360_devtools.demo.generator import generate_silos, load_sales_into_postgres
    from c360_devtools.demo.helpdesk_api import HelpdeskAPI

    from customer360 import pipeline

    silos = tmp_path / "silos"
    generate_silos(silos, people=120, seed=5)
    counts = load_sales_into_postgres(silos / "sales" / "shop.sqlite", postgres_dsn, replace=True)
    assert counts["customers"] > 0
    with HelpdeskAPI(silos / "service") as api, pytest.MonkeyPatch.context() as env:
        env.setenv("C360_SALES_CONNECTOR", "postgres")
        env.setenv("C360_SALES_DSN", postgres_dsn)
        env.setenv("C360_DATA_DIR", str(tmp_path / "data"))
        env.setenv("C360_SILOS_DIR", str(silos))
        env.setenv("C360_HELPDESK_URL", api.base_url)
        config = load_config(COMPOSE_CONFIG)
        summary = pipeline.run_pipeline(pipeline.RunContext.new(config), pipeline.default_stages())
    assert summary.exit_code == 0, summary.message
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        loaded = con.execute("select count(*) from raw_sales.customers").fetchone()[0]
        mapped = con.execute(
            "select count(*) from marts.customer_identity_map where source_system = 'sales'"
        ).fetchone()[0]
    assert loaded == counts["customers"]
    assert 0 < mapped <= loaded
