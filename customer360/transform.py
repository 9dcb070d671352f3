"""Run dbt on the warehouse: the one place that knows how to call dbt and what to pass it.

The product's dbt project (dbt_project/) is configuration-driven: customer360.yml reaches it as vars (identity
mappings, touchpoint streams, consent statements, the project's rules), so a new silo needs no dbt code, and `dbt`
can still be run by hand through `c360 dbt -- <args>`.

dbt runs in a dbt project of the customer360 project's own, `<data_dir>/dbt/project/`: links to the product's
folders and to the project's dbt folders (customer360.yml `dbt:`), a sources file generated from the configuration
(every configured raw table, for `source()` in the project's models) and a dbt_project.yml naming them. Two
projects on one machine therefore never see each other's models, and nothing project-specific is written into the
product's folder. (dbt keeps every path relative to the project it runs: a model folder outside it would make dbt
write compiled SQL over the project's own files.)
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from customer360.core.config import Config, ConsentStatement, SourceConfig, TouchpointStream
from customer360.core.errors import ConfigurationMismatch, StageFailed
from customer360.core.product import DBT_PROJECT_DIR
from customer360.core.rules import load_rules

# the run's start (ISO 8601): int_reference_time's fallback when no touchpoint exists
RUN_STARTED_AT = "C360_RUN_STARTED_AT"
PR_SET_PDEATHSIG = 1  # linux/prctl.h: the signal a process gets when its parent dies
# the folders of the dbt project c360 runs, as links (see dbt_project_dir): the product's keep their names, the
# project's are prefixed
PRODUCT_FOLDERS = {"models": "models", "macros": "macros", "seeds": "seeds", "tests": "tests"}
PROJECT_FOLDERS = {"models": "project_models", "macros": "project_macros", "tests": "project_tests"}
SOURCES_FOLDER = "generated_sources"
FAILED_STATUSES = {"error", "fail", "runtime error"}


class DbtError(StageFailed):
    """A dbt command failed; the message lists the failing nodes."""


@dataclass
class DbtResult:
    command: list[str]
    success: bool
    failures: list[str] = field(default_factory=list)
    results: list[NodeResult] = field(default_factory=list)

    @property
    def nodes(self) -> int:
        return len(self.results)

    def summary(self) -> dict[str, object]:
        """Counts by status and the slowest nodes: what a run summary or an Airflow task's XCom shows."""
        statuses: dict[str, int] = {}
        for node in self.results:
            statuses[node.status] = statuses.get(node.status, 0) + 1
        slowest = sorted(self.results, key=lambda node: -node.seconds)[:5]
        return {
            "nodes": self.nodes,
            "statuses": statuses,
            "failures": self.failures,
            "slowest": {node.unique_id: node.seconds for node in slowest},
        }

    def node_lines(self) -> str:
        """One line per node, in the order dbt finished them (an Airflow task logs it)."""
        return "\n".join(f"  {node.status:<8} {node.seconds:7.2f}s  {node.unique_id}" for node in self.results)


@dataclass(frozen=True)
class NodeResult:
    """One seed, model or test of a dbt command, from its run_results.json."""

    unique_id: str
    status: str
    seconds: float
    message: str


def dbt_vars(config: Config) -> dict[str, object]:
    """The vars every dbt call receives: identity mappings, touchpoint streams, consent statements and rules."""
    mappings = []
    for system, source, mapping in config.identity_mappings():
        mappings.append(
            {
                "source_system": system,
                "schema": source.raw_schema,
                "table": mapping.table,
                "source_record_id": mapping.source_record_id,
                "fields": {name: expression for name, expression in mapping.expressions().items()},
                "date_formats": mapping.date_formats,
                "timestamp_formats": mapping.timestamp_formats,
                "where": mapping.where,
            }
        )
    return {
        "c360_identity_mappings": mappings,
        "c360_touchpoint_streams": [_stream(config, source, stream) for source, stream in config.touchpoint_streams()],
        "c360_consent_statements": [
            _statement(config, source, statement) for source, statement in config.consent_statements()
        ],
        "c360_time_zone": config.time_zone,
        "c360_default_country": config.default_country,
        "c360_cluster_size_cap": config.resolution.cluster_size_cap,
        **load_rules(config).dbt_vars(),
    }


def _rows(config: Config, source: SourceConfig, item: TouchpointStream | ConsentStatement) -> dict[str, Any]:
    """Where a stream's or statement's rows come from and which identity record each belongs to."""
    system = config.identity_system(source, item)
    identity_source, mapping = config.identity_mapping(system)
    return {
        "source": source.name,
        "schema": source.raw_schema,
        "table": item.table,
        "model": item.model,
        "loaded_at": item.loaded_at or ("loaded_at" if item.model else "_c360_loaded_at"),
        "where": item.where,
        "timestamp_formats": item.timestamp_formats,
        "record": item.record,
        "identity": {
            "source_system": system,
            "schema": identity_source.raw_schema,
            "table": mapping.table,
            "source_record_id": mapping.source_record_id,
            "where": mapping.where,
            # null: `record` is the identity record's id itself; else what `record` is looked up by
            "record_key": item.record_key,
        },
    }


def _default_id(source: SourceConfig, stream: TouchpointStream) -> str:
    keys = source.table(stream.table).primary_key if stream.table else []
    quoted = [f'cast(source_rows."{key}" as varchar)' for key in keys]
    return quoted[0] if len(quoted) == 1 else "concat_ws('|', " + ", ".join(quoted) + ")"


_STREAM_FIELDS = (
    "occurred_at", "updated_at", "last_activity_at", "channel", "type", "title", "status", "amount", "currency",
    "reference", "direction", "sentiment",
)  # fmt: skip


def _stream(config: Config, source: SourceConfig, stream: TouchpointStream) -> dict[str, Any]:
    kpis = stream.kpis
    return {
        **_rows(config, source, stream),
        "stream": stream.stream_name,
        "kind": stream.kind,
        "department": stream.department or source.name,
        "id": stream.id or _default_id(source, stream),
        "fields": {name: getattr(stream, name) for name in _STREAM_FIELDS},
        "kpis": {
            name: getattr(kpis, name)
            for name in (
                "revenue",
                "is_cancelled",
                "is_returned",
                "is_open",
                "is_complaint",
                "satisfaction",
                "engagement",
                "recipient",
            )  # fmt: skip
        },
        "satisfaction_scale": list(kpis.satisfaction_scale),
        "attributes": dict(stream.attributes),
    }


def _statement(config: Config, source: SourceConfig, statement: ConsentStatement) -> dict[str, Any]:
    return {
        **_rows(config, source, statement),
        "statement": statement.statement_name,
        "purpose": statement.purpose,
        "channel": statement.channel,
        "status": statement.status,
        "at": statement.at,
        "id": statement.id,
        "updated_at": statement.updated_at,
        "legal_basis": statement.legal_basis,
    }


def configured_expressions(config: Config) -> list[tuple[str, SourceConfig, str, str, bool]]:
    """(where in the configuration, source, raw table, SQL expression, is a filter) for every SQL expression the
    configuration applies to a raw table of its own (project models are checked by dbt)."""
    found: list[tuple[str, SourceConfig, str, str, bool]] = []

    def add(where: str, source: SourceConfig, table: str | None, values: dict[str, Any], filter_: str | None) -> None:
        if table is None:
            return
        found.extend((f"{where}.{key}", source, table, value, False) for key, value in values.items() if value)
        if filter_:
            found.append((f"{where}.where", source, table, filter_, True))

    for _system, source, mapping in config.identity_mappings():
        where = f"sources[{source.name}].identity[{mapping.table}]"
        add(
            where,
            source,
            mapping.table,
            {"source_record_id": mapping.source_record_id, **mapping.expressions()},
            mapping.where,
        )
    for source, stream in config.touchpoint_streams():
        where = f"sources[{source.name}].touchpoints[{stream.stream_name}]"
        values = {
            "record": stream.record,
            "id": stream.id,
            **{key: getattr(stream, key) for key in _STREAM_FIELDS},
            **{f"kpis.{key}": value for key, value in stream.kpis.model_dump(exclude={"satisfaction_scale"}).items()},
            **{f"attributes[{key}]": value for key, value in stream.attributes.items()},
        }
        add(where, source, stream.table, values, stream.where)
    for source, statement in config.consent_statements():
        where = f"sources[{source.name}].consent[{statement.statement_name}]"
        keys = ("record", "status", "at", "id", "updated_at", "legal_basis")
        add(where, source, statement.table, {key: getattr(statement, key) for key in keys}, statement.where)
    for source, item in [*config.touchpoint_streams(), *config.consent_statements()]:
        if item.record_key:
            identity_source, mapping = config.identity_mapping(config.identity_system(source, item))
            label = "touchpoints" if isinstance(item, TouchpointStream) else "consent"
            add(
                f"sources[{source.name}].{label}[{item.relation_name}]",
                identity_source,
                mapping.table,
                {"record_key": item.record_key},
                None,
            )
    return found


def check_expressions(config: Config) -> int:
    """Bind every configured SQL expression against its raw table before dbt runs, so that a typo in a column
    name, or a column named like an SQL keyword, is a configuration error naming the key — not a dbt error in a
    model the user never wrote. Tables not loaded yet are skipped. Returns how many expressions were checked."""
    from customer360.core import warehouse

    problems, checked = [], 0
    if not config.warehouse_path.exists():
        return checked
    with warehouse.session(config) as con:
        for where, source, table, expression, is_filter in configured_expressions(config):
            if not warehouse.table_exists(con, source.raw_schema, table):
                continue
            relation = f"{source.raw_schema}.{warehouse.quote_identifier(table)}"
            sql = (
                f"select 1 from {relation} as source_rows where ({expression}) limit 0"
                if is_filter
                else f"select ({expression}) from {relation} as source_rows limit 0"
            )
            checked += 1
            try:
                con.execute(sql)
            except Exception as error:  # noqa: BLE001 - DuckDB's parser, binder and catalog errors alike
                message = str(error).splitlines()[0]
                if "Catalog Error: Table with name" in message:
                    continue  # another table the expression reads is not loaded yet: dbt leaves it out
                hint = ""
                if "syntax error" in message and re.fullmatch(r"[A-Za-z_]+", expression.strip()):
                    hint = f" (a column named like an SQL keyword needs double quotes: '\"{expression.strip()}\"')"
                problems.append(f"{where}: {expression.strip()!r} on {source.name}.{table}: {message}{hint}")
    if problems:
        raise ConfigurationMismatch(
            f"{config.file}: {len(problems)} expression(s) do not fit the delivered data:\n  - "
            + "\n  - ".join(problems)
        )
    return checked


# Control characters other than tab and line breaks: never part of a name, an address or a number (NUL, bell,
# escape sequences), and they break the screens and exports that show them.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_PERSON_FIELDS = ("first_name", "last_name", "full_name", "email", "phone", "date_of_birth")
_TEXT_FIELDS = ("first_name", "last_name", "full_name", "email", "phone", "street", "postcode", "city", "country")


def quarantine_unusable_identity_rows(config: Config, at: datetime) -> dict[str, int]:
    """Quarantine (stage `staging`) the rows of identity tables that no identity mapping can use, each with its
    rule, instead of leaving them out or letting them through without a trace:

        identity_id_missing   the record id (`source_record_id`) is empty
        identity_empty        an id, but no name, e-mail address, phone number or birth date: nobody to match
                              or to show
        control_characters    a mapped value holds a control character (NUL, escape ...)
        value_too_long        a mapped value is longer than quality.max_identity_value_length

    A row another mapping of the same table can use stays, and so does a row held already; a released row that
    still fails comes back (fix the data or the mapping). Returns how many rows were quarantined, by rule."""
    from customer360.core import quarantine, warehouse

    by_table: dict[tuple[str, str], list[tuple[SourceConfig, Any]]] = {}
    for _system, source, mapping in config.identity_mappings():
        by_table.setdefault((source.name, mapping.table), []).append((source, mapping))
    totals: dict[str, int] = {}
    if not config.warehouse_path.exists():
        return totals
    limit = config.quality.max_identity_value_length
    with warehouse.session(config) as con:
        for (source_name, table), mappings in by_table.items():
            source = mappings[0][0]
            if not warehouse.table_exists(con, source.raw_schema, table):
                continue
            checks = [_identity_row_checks(mapping, limit) for _, mapping in mappings]
            rule = "coalesce(" + ", ".join(f"case when {applies} then {failure} end" for applies, failure in checks)
            rule += ", null)"
            usable = " or ".join(f"({applies} and ({failure}) is null)" for applies, failure in checks)
            known = quarantine.ensure_table(con, source_name, table)
            relation = f"{source.raw_schema}.{warehouse.quote_identifier(table)}"
            label = f"identity mapping of {source_name}.{table}"
            ids = " / ".join(repr(m.source_record_id.strip()) for _, m in mappings)
            counted = con.execute(
                f"""
                create or replace temp table _c360_unusable as
                select source_rows.{warehouse.BATCH_ID}, source_rows.{warehouse.ROW_NUMBER},
                       source_rows.{warehouse.SOURCE_LOCATION}, {rule} as {quarantine.RULE},
                       to_json(source_rows) as {quarantine.RECORD}
                from {relation} as source_rows
                anti join (select * from {known} where {quarantine.RELEASED_AT} is null) as held
                    using ({warehouse.BATCH_ID}, {warehouse.ROW_NUMBER})
                where {rule} is not null and not ({usable});
                select {quarantine.RULE}, count(*) from _c360_unusable group by all
                """
            ).fetchall()
            if not counted:
                continue
            quarantine.insert(
                con,
                source_name,
                table,
                f"""
                select * exclude ({quarantine.RECORD}), case {quarantine.RULE}
                    when 'identity_id_missing' then $label || ': the record id (' || $ids || ') is empty, so this '
                        || 'row cannot be a customer record; fix the data or `source_record_id`'
                    when 'identity_empty' then $label || ': the record has an id but no name, e-mail address, '
                        || 'phone number or birth date: nobody to match or to show; fix the data or the mapping'
                    when 'control_characters' then $label || ': a mapped value holds control characters (such as '
                        || 'NUL or escape), which are never part of a name, address or number; fix the data'
                    else $label || ': a mapped value is longer than ' || $limit || ' characters '
                        || '(quality.max_identity_value_length); fix the data or raise the limit'
                    end || ', then `c360 quarantine release`' as {quarantine.REASON}, {quarantine.RECORD}
                from _c360_unusable
                """,
                {"label": label, "ids": ids, "limit": str(limit)},
                stage=quarantine.STAGE_STAGING,
                quarantined_at=at,
            )
            con.execute("drop table _c360_unusable")
            for name, count in counted:
                totals[name] = totals.get(name, 0) + int(count)
    return totals


def _identity_row_checks(mapping: Any, limit: int) -> tuple[str, str]:
    """SQL: whether the mapping applies to a row, and the first rule the row fails under it (NULL: none)."""
    fields = {name: value for name, value in mapping.expressions().items() if value}
    text = [f"cast(({fields[name]}) as varchar)" for name in _TEXT_FIELDS if name in fields]
    person = [f"nullif(trim(cast(({fields[name]}) as varchar)), '')" for name in _PERSON_FIELDS if name in fields]
    checks = [
        f"when ({mapping.source_record_id}) is null then 'identity_id_missing'",
        f"when coalesce({', '.join(person)}) is null then 'identity_empty'" if person else "",
    ]
    if text:
        checks.append(
            f"when regexp_matches(concat({', '.join(text)}), '{CONTROL_CHARACTERS}') then 'control_characters'"
        )
        longest = ", ".join(f"coalesce(length({value}), 0)" for value in text)
        checks.append(f"when greatest({longest}) > {limit} then 'value_too_long'")
    applies = f"coalesce(({mapping.where}), false)" if mapping.where else "true"
    return applies, f"case {' '.join(c for c in checks if c)} end"


def standardisation_losses(config: Config) -> tuple[dict[str, int], dict[str, int]]:
    """What standardisation left out, counted: values of the current identity records it blanked, by
    `field:rule` (a malformed e-mail address, a placeholder name, a phone number that cannot be placed ...), and
    touchpoint rows it dropped, by `touchpoints:<stream>:<rule>` (no touchpoint id)."""
    from customer360.core import warehouse

    if not config.warehouse_path.exists():
        return {}, {}
    with warehouse.session(config, read_only=True) as con:

        def counts(relation: str, sql: str) -> dict[str, int]:
            if not warehouse.table_exists(con, "staging", relation):
                return {}
            return {str(name): int(count) for name, count in con.execute(sql).fetchall()}

        blanked = counts(
            "int_identity_records",
            "select blanked, count(*) from (select unnest(blanked_values) as blanked "
            "from staging.int_identity_records) group by all",
        )
        dropped = counts(
            "stg_touchpoints__records",
            "select 'touchpoints:' || stream || ':id_missing', count(*) from staging.stg_touchpoints__records "
            "where touchpoint_id is null group by all",
        )
    return blanked, dropped


def sources_yaml(config: Config) -> dict[str, Any]:
    """Every configured raw table as a dbt source (`source('<source>', '<table>')` in a project's own models),
    with the columns and descriptions declared in customer360.yml."""
    return {
        "version": 2,
        "sources": [
            {
                "name": source.name,
                "description": source.description or f"raw tables of the source {source.name} (customer360.yml)",
                "schema": source.raw_schema,
                "tables": [
                    {
                        "name": table.name,
                        **({"description": table.description} if table.description else {}),
                        "columns": [
                            {
                                "name": column,
                                "data_type": "json" if rules.type == "json" else "varchar",
                                **({"description": rules.description} if rules.description else {}),
                            }
                            for column, rules in table.columns.items()
                        ],
                    }
                    for table in source.tables
                ],
            }
            for source in config.sources
        ],
    }


def dbt_project_dir(config: Config) -> Path:
    """The dbt project c360 runs for this configuration, brought up to date (cheap; files are only rewritten when
    their content changes, so dbt's partial parsing stays valid)."""
    host = config.data_path / "dbt" / "project"
    host.mkdir(parents=True, exist_ok=True)
    links = {link: DBT_PROJECT_DIR / folder for folder, link in PRODUCT_FOLDERS.items()}
    for key, link in PROJECT_FOLDERS.items():
        folder = getattr(config.dbt, key)
        if folder:
            links[link] = config.resolve_path(folder).resolve()
    for link in [*PRODUCT_FOLDERS.values(), *PROJECT_FOLDERS.values()]:
        _link(host / link, links.get(link))
    paths = {
        key: [link for link in (PRODUCT_FOLDERS.get(key), PROJECT_FOLDERS.get(key)) if link in links]
        for key in ("models", "macros", "seeds", "tests")
    }
    paths["models"].append(SOURCES_FOLDER)
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    project["model-paths"] = paths["models"]
    project["macro-paths"] = paths["macros"]
    project["seed-paths"] = paths["seeds"]
    project["test-paths"] = paths["tests"]
    project["analysis-paths"] = []
    _write_if_changed(
        host / "dbt_project.yml",
        f"# generated by c360 for {config.file}: the product's dbt project with this project's dbt folders\n"
        + yaml.safe_dump(project, sort_keys=False, allow_unicode=True),
    )
    (host / SOURCES_FOLDER).mkdir(exist_ok=True)
    _write_if_changed(
        host / SOURCES_FOLDER / "_c360__sources.yml",
        "# generated by c360 from customer360.yml: do not edit\n"
        + yaml.safe_dump(sources_yaml(config), sort_keys=False, allow_unicode=True),
    )
    return host


def _link(link: Path, target: Path | None) -> None:
    """Point `link` at `target` (or remove it when None), replacing a link that points elsewhere atomically."""
    if target is None:
        if link.is_symlink():
            link.unlink()
        return
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    if link.is_dir() and not link.is_symlink():  # a copy of the folder (a copied data_dir): ours to replace
        shutil.rmtree(link)
    temporary = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target, target_is_directory=True)
    os.replace(temporary, link)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)


def dbt_environment(config: Config) -> dict[str, str]:
    project = dbt_project_dir(config)
    return {
        "C360_WAREHOUSE": str(config.warehouse_path),
        "C360_MEMORY_LIMIT": config.warehouse.memory_limit,
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_LOG_PATH": str(config.data_path / "logs" / "dbt"),
        "DBT_TARGET_PATH": str(config.data_path / "dbt_target"),
    }


def run_dbt(
    config: Config,
    args: Sequence[str],
    raise_on_failure: bool = True,
    quiet: bool = True,
    extra_environment: dict[str, str] | None = None,
) -> DbtResult:
    """Run dbt with the project's profile, vars and paths.

    dbt runs in a child process: dbt-duckdb keeps its DuckDB instance open inside the process that ran it, which
    would lock the warehouse against the next stage; a child process also keeps dbt's global logging to itself.
    """
    command = list(args)
    if command and command[0] in {"build", "run", "test", "seed", "compile", "parse", "ls", "list", "docs", "show"}:
        variables = dbt_vars(config)
        if "--vars" in command:  # the caller's vars win over ours
            position = command.index("--vars")
            variables.update(yaml.safe_load(command[position + 1]) or {})
            del command[position : position + 2]
        command += ["--vars", json.dumps(variables)]
        if quiet and command[0] not in {"ls", "list", "show"}:
            command.insert(0, "--quiet")
    environment = {**os.environ, **dbt_environment(config), **(extra_environment or {})}
    target = Path(environment["DBT_TARGET_PATH"])
    run_results = target / "run_results.json"
    run_results.unlink(missing_ok=True)
    outcome = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dbt.cli.main import cli; cli()",
            *command,
            "--project-dir",
            environment["DBT_PROJECT_DIR"],
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        env=environment,
        capture_output=quiet,
        text=True,
        check=False,
        preexec_fn=die_with_parent(),
    )
    results = _node_results(run_results)
    failures = [f"{node.unique_id}: {node.message}" for node in results if node.status in FAILED_STATUSES]
    result = DbtResult(command=command, success=outcome.returncode == 0, failures=failures, results=results)
    if raise_on_failure and not result.success:
        raise DbtError(f"dbt {' '.join(args)} failed:\n{_failure_detail(outcome, failures, environment).strip()}")
    return result


def die_with_parent() -> Callable[[], None]:
    """For subprocess's preexec_fn: the kernel kills the child when this process dies, however it dies (kill -9
    included), so no orphaned dbt keeps writing the warehouse and holding its lock."""
    parent = os.getpid()

    def arrange() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return arrange


def _failure_detail(outcome: subprocess.CompletedProcess[str], failures: list[str], environment: dict[str, str]) -> str:
    if outcome.returncode < 0:  # killed by a signal: no run_results, and the output ends mid-model
        name = signal.Signals(-outcome.returncode).name
        log = Path(environment["DBT_LOG_PATH"]) / "dbt.log"
        return (
            f"the dbt process was killed by {name} before it finished (out of memory or a crash in DuckDB); "
            f"the last model it worked on is at the end of {log}. Nothing was published; run again."
        )
    return "\n".join(f"  - {failure}" for failure in failures) or (outcome.stdout or "") + (outcome.stderr or "")


def _node_results(run_results: Path) -> list[NodeResult]:
    if not run_results.is_file():
        return []
    return [
        NodeResult(
            unique_id=item["unique_id"],
            status=item.get("status") or "",
            seconds=round(float(item.get("execution_time") or 0), 2),
            message=(item.get("message") or "").strip(),
        )
        for item in json.loads(run_results.read_text(encoding="utf-8")).get("results", [])
    ]


def build(
    config: Config,
    select: str,
    exclude: str | None = None,
    run_started_at: datetime | None = None,
    full_refresh: bool = False,
) -> DbtResult:
    """`dbt build` (seed + run + data tests) for a selection, e.g. the staging layer or the marts. dbt unit tests
    test the SQL, not the data: they run in `make test` (tests/test_marts_dbt.py) and by hand (`c360 dbt -- test
    --select test_type:unit`), not in every run.

    `run_started_at`: the run's start, the marts' reference time when the data holds no interaction at all.
    `full_refresh`: incremental models are rebuilt from scratch (customer360/marts_scope.py)."""
    args = ["build", "--select", select, "--exclude-resource-type", "unit_test"]
    if exclude:
        args += ["--exclude", exclude]
    if full_refresh:
        args.append("--full-refresh")
    started = {RUN_STARTED_AT: run_started_at.astimezone(UTC).isoformat()} if run_started_at else None
    return run_dbt(config, args, extra_environment=started)


def generate_docs(config: Config) -> Path:
    """`dbt docs generate` (plus a self-contained static page) into `<data_dir>/reports/dbt_docs/`."""
    run_dbt(config, ["docs", "generate", "--static"])
    target = Path(dbt_environment(config)["DBT_TARGET_PATH"])
    folder = config.reports_dir / "dbt_docs"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "static_index.html", "manifest.json", "catalog.json"):
        if (target / name).is_file():
            shutil.copy2(target / name, folder / name)
    return folder
