"""Load and validate `customer360.yml`: the warehouse, every source, and how its rows map onto the identity schema.

Configuration is data: adding a silo means adding a block here (and dbt SQL for its facts), never Python.
Errors name the file, the key and what was expected, so a data engineer can fix them without reading code.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG = "customer360.yml"
CONFIG_ENV_VAR = "C360_CONFIG"

# The identity schema: what every source's person-like rows are mapped to (see docs/architecture.md).
IDENTITY_FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "date_of_birth",
    "street",
    "postcode",
    "city",
    "country",
    "updated_at",
    "reference_numbers",
)

_NAME = r"^[a-z][a-z0-9_]*$"
_ENV_PATTERN = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid. The message says where and what to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvOptions(_Strict):
    delimiter: str = ","
    quote: str = '"'
    header: bool = True
    # "auto" reads UTF-8 (with or without BOM) and falls back to Windows-1252, which German exports often use.
    encoding: Literal["auto", "utf-8", "cp1252", "latin-1"] = "auto"


class Incremental(_Strict):
    """How a table grows. Files: each file once (by content). Databases and APIs: rows past a cursor."""

    cursor: str | None = Field(
        default=None, description="column (database) or field (API) whose maximum is remembered between runs"
    )
    # REST only: the query parameter that receives the last cursor value, e.g. `updated_since`.
    param: str | None = None
    # A cursor may move backwards a little (clock skew, late commits): re-read this much and de-duplicate.
    lookback_seconds: int = Field(default=0, ge=0)


class Pagination(_Strict):
    type: Literal["next_link", "page_number", "none"] = "next_link"
    next_field: str = Field(default="next_page", description="next_link: where the next page's URL is")
    page_param: str = "page"
    size_param: str = "per_page"
    page_size: int = Field(default=100, ge=1, le=10_000)


class TableConfig(_Strict):
    """One table of a source: where its rows come from and what identifies a row."""

    name: Annotated[str, Field(pattern=_NAME)]
    description: str | None = None
    # files connector
    path: str | None = Field(default=None, description="glob, relative to the config file")
    format: Literal["csv", "json", "jsonl", "parquet"] | None = None
    csv: CsvOptions = CsvOptions()
    # database connectors: table (or view) in the source database; defaults to `name`
    source_table: str | None = None
    # rest connector
    endpoint: str | None = None
    records_field: str | None = Field(default=None, description="key of the list of records in each page")
    pagination: Pagination = Pagination()
    params: dict[str, str] = {}

    primary_key: list[str] = Field(default_factory=list, description="columns that identify a row")
    incremental: Incremental = Incremental()

    @field_validator("primary_key", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class RetryPolicy(_Strict):
    max_attempts: int = Field(default=5, ge=1, le=20)
    backoff_seconds: float = Field(default=1.0, ge=0)
    max_backoff_seconds: float = Field(default=30.0, ge=0)


class IdentityMapping(_Strict):
    """Maps one table's person-like rows onto the identity schema; values are SQL expressions over raw columns."""

    table: str
    source_system: Annotated[str | None, Field(pattern=_NAME)] = None
    source_record_id: str
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    email: str | None = None
    phone: str | None = None
    date_of_birth: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    updated_at: str | None = None
    # A SQL expression giving a list of references this record shares with other systems, e.g. the order numbers a
    # customer placed or a ticket quotes. Two records quoting the same reference are strong evidence.
    reference_numbers: str | None = None
    # strptime formats tried in order for date_of_birth when the value is text
    date_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y"])
    where: str | None = Field(default=None, description="optional SQL filter, e.g. is_active = 1")

    @model_validator(mode="after")
    def _has_a_name(self) -> IdentityMapping:
        if not (self.full_name or self.first_name or self.last_name):
            raise ValueError("map at least one of first_name, last_name or full_name")
        return self

    def expressions(self) -> dict[str, str | None]:
        """Identity field -> SQL expression (None where the source has no such field)."""
        return {field: getattr(self, field) for field in IDENTITY_FIELDS}


class SourceConfig(_Strict):
    name: Annotated[str, Field(pattern=_NAME)]
    description: str | None = None
    connector: Literal["files", "sqlite", "postgres", "rest"]
    # sqlite: path to the database file; postgres: a libpq connection string (use ${VAR} for secrets)
    path: str | None = None
    dsn: str | None = None
    schema_: str | None = Field(default=None, alias="schema", description="postgres schema, default public")
    # rest
    base_url: str | None = None
    token: str | None = Field(default=None, description="bearer token; use ${VAR}, never a literal secret")
    headers: dict[str, str] = {}
    timeout_seconds: float = Field(default=30.0, gt=0)
    retries: RetryPolicy = RetryPolicy()

    # how often Airflow's ingestion DAG for this source runs (a cron expression or preset such as @hourly)
    schedule: str = "@hourly"

    tables: list[TableConfig]
    identity: list[IdentityMapping] = []

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _connector_settings(self) -> SourceConfig:
        required = {"sqlite": "path", "postgres": "dsn", "rest": "base_url"}.get(self.connector)
        if required and not getattr(self, required):
            raise ValueError(f"connector '{self.connector}' needs '{required}'")
        names = [table.name for table in self.tables]
        if len(set(names)) != len(names):
            raise ValueError(f"table names must be unique, got {names}")
        for table in self.tables:
            if self.connector == "files" and not (table.path and table.format):
                raise ValueError(f"table '{table.name}': the files connector needs 'path' and 'format'")
            if self.connector == "rest" and not table.endpoint:
                raise ValueError(f"table '{table.name}': the rest connector needs 'endpoint'")
        for mapping in self.identity:
            if mapping.table not in names:
                raise ValueError(f"identity mapping names table '{mapping.table}', which is not in tables {names}")
        return self

    def table(self, name: str) -> TableConfig:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"source '{self.name}' has no table '{name}'")

    @property
    def raw_schema(self) -> str:
        return f"raw_{self.name}"


class WarehouseConfig(_Strict):
    path: str = "data/warehouse/customer360.duckdb"
    memory_limit: str = Field(default="8GB", description="DuckDB memory_limit")
    threads: int | None = Field(default=None, ge=1)


class ResolutionConfig(_Strict):
    model_dir: str = Field(default="data/models", description="where trained Splink models are saved")
    spec: str = Field(default="entity_resolution/specs/customer.yml", description="versioned model spec")
    match_probability_threshold: float = Field(default=0.99, gt=0, lt=1)
    cluster_size_cap: int = Field(default=25, ge=2)


class QualityConfig(_Strict):
    """When the quality gate rejects a whole batch instead of quarantining rows (docs/quality.md)."""

    max_bad_share: float = Field(default=0.1, ge=0, le=1, description="share of bad rows that rejects a batch")
    min_bad_rows: int = Field(default=20, ge=0, description="fewer bad rows never reject a batch")
    volume_jump_ratio: float = Field(default=10.0, gt=1, description="a batch this many times larger is suspicious")
    volume_jump_min_rows: int = Field(default=1000, ge=0)
    history_batches: int = Field(default=5, ge=1, description="earlier batches that form the reference")
    freshness_days: float = Field(default=30.0, gt=0, description="warn when the newest change is older")
    missing_column_chance: float = Field(default=1e-6, gt=0, lt=1)
    missing_column_min_fill: float = Field(default=0.5, ge=0, le=1)
    allow_new_columns: bool = False


class Config(_Strict):
    version: Literal[1] = 1
    project: str = "customer360"
    warehouse: WarehouseConfig = WarehouseConfig()
    data_dir: str = Field(default="data", description="root for published snapshots, reports and state")
    resolution: ResolutionConfig = ResolutionConfig()
    quality: QualityConfig = QualityConfig()
    sources: list[SourceConfig]

    # Set by load_config: the file the configuration came from (relative paths resolve against its folder).
    file: Path = Path(DEFAULT_CONFIG)

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        names = [source.name for source in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        systems = [system for system, _, _ in self.identity_mappings()]
        if len(set(systems)) != len(systems):
            raise ValueError(
                f"identity source_system names must be unique, got {systems}: "
                "set 'source_system' on mappings that share a source"
            )
        return self

    # -- derived locations -------------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.file.resolve().parent

    def resolve_path(self, value: str | Path) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.root / path

    @property
    def warehouse_path(self) -> Path:
        return self.resolve_path(self.warehouse.path)

    @property
    def data_path(self) -> Path:
        return self.resolve_path(self.data_dir)

    @property
    def published_dir(self) -> Path:
        return self.data_path / "published"

    @property
    def reports_dir(self) -> Path:
        return self.data_path / "reports"

    @property
    def state_dir(self) -> Path:
        return self.data_path / "state"

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"{self.file}: no source named '{name}' (sources: {[s.name for s in self.sources]})")

    def identity_mappings(self) -> list[tuple[str, SourceConfig, IdentityMapping]]:
        """(source_system, source, mapping) for every person-like table, in config order."""
        return [
            (mapping.source_system or source.name, source, mapping)
            for source in self.sources
            for mapping in source.identity
        ]


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV_VAR, DEFAULT_CONFIG))


def expand_env(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace ${VAR} and ${VAR:-default}; an unset variable without a default is an error."""
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"environment variable {name} is not set (write ${{{name}:-default}} for a default)")

    return _ENV_PATTERN.sub(substitute, text)


def load_config(path: str | Path | None = None) -> Config:
    """Read, expand and validate a configuration file. Raises ConfigError with a readable message."""
    file = Path(path) if path is not None else default_config_path()
    if not file.is_file():
        raise ConfigError(
            f"{file}: configuration file not found. Pass --config PATH, set {CONFIG_ENV_VAR}, "
            f"or copy the example {DEFAULT_CONFIG} from the repository."
        )
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{file}: cannot read it as YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file}: expected a mapping at the top level (warehouse:, sources:), got {type(data).__name__}"
        )
    try:
        data = _expand_values(data)
    except ConfigError as error:
        raise ConfigError(f"{file}: {error}") from None
    data = _named_lists(data)
    try:
        return Config.model_validate({**data, "file": file})
    except ValidationError as error:
        raise ConfigError(_describe(file, data, error)) from None


def _expand_values(node: Any) -> Any:
    """Expand ${VAR} in string values only, so comments and keys are left alone."""
    if isinstance(node, str):
        return expand_env(node)
    if isinstance(node, dict):
        return {key: _expand_values(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_expand_values(value) for value in node]
    return node


def _named_lists(data: dict[str, Any]) -> dict[str, Any]:
    """Allow `sources:` and `tables:` as mappings keyed by name (the friendlier YAML) as well as lists."""

    def as_list(value: Any) -> Any:
        if isinstance(value, dict):
            return [
                {"name": key, **(body or {})} if isinstance(body, dict) or body is None else body
                for key, body in value.items()
            ]
        return value

    sources = as_list(data.get("sources"))
    if isinstance(sources, list):
        sources = [
            {**source, "tables": as_list(source.get("tables"))} if isinstance(source, dict) else source
            for source in sources
        ]
    return {**data, "sources": sources} if "sources" in data else data


def _describe(file: Path, data: dict[str, Any], error: ValidationError) -> str:
    """Turn pydantic's errors into `file: key.path: what is expected` lines, naming sources and tables by name."""
    lines = [f"{file}: {error.error_count()} problem(s) in the configuration"]
    for problem in error.errors():
        location = _readable_location(data, problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/configuration.md)"
        elif problem["type"] == "missing":
            message = "required key is missing"
        lines.append(f"  - {location or '(top level)'}: {message}")
    return "\n".join(lines)


def _readable_location(data: Any, loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            node = node[key]
            label = node.get("name") or node.get("table") if isinstance(node, dict) else None
            parts[-1:] = [f"{parts[-1]}[{label or key}]"] if parts else [f"[{key}]"]
            continue
        parts.append(str(key))
        node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts)
