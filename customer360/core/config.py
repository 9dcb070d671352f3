"""Load and validate `customer360.yml`: the warehouse, every source, how its person-like rows map onto the identity
schema, which tables are touchpoint streams and consent statements, the quality rules of every table, and which
project files (rules, suites, dbt models) extend the product's defaults.

Configuration is data: adding a silo means adding a block here, never Python. A project (the folder holding the
file) brings its own files in by path from here, never by a global name. Errors name the file, the key and what
was expected, so a data engineer can fix them without reading code (docs/configuration.md).
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
    "created_at",
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


Action = Literal["quarantine", "warn", "block"]
COLUMN_TYPES = ("text", "integer", "number", "boolean", "date", "timestamp", "email", "phone", "json")
# strptime formats tried for text times after ISO 8601; naive times are read in the project's time_zone
TIMESTAMP_FORMATS = ["%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%Y%m%d"]
RULE_NAMES = ("type", "required", "unique", "pattern", "allowed", "min", "max", "not_in_future", "references")


class ColumnRules(_Strict):
    """What a raw column must hold (`tables.<t>.columns.<column>`); turned into Great Expectations rules.

    Every rule is checked on the values that are given (empty and placeholder values such as 'n/a' count as not
    given, except for `required`). A failing row goes to quarantine with the rule's reason, unless `on_fail`
    says otherwise: `warn` reports only, `block` rejects the whole delivery. Rule names: docs/quality.md.
    """

    description: str | None = None
    type: Literal["text", "integer", "number", "boolean", "date", "timestamp", "email", "phone", "json"] | None = None
    # date/timestamp: strptime formats tried after ISO 8601, e.g. ['%d.%m.%Y'] (German dates)
    formats: list[str] = []
    required: bool = False
    unique: bool | list[str] = Field(
        default=False,
        description="true: no value twice in a delivery; a list of columns: unique together with them (per order_id)",
    )
    pattern: str | None = Field(default=None, description="regular expression the whole value matches")
    allowed: list[str | int | float | bool] | None = None
    min: float | str | None = Field(default=None, description="lowest value (a number, or an ISO date for dates)")
    max: float | str | None = None
    not_in_future: bool = Field(default=False, description="date/timestamp: not after the run (a day of tolerance)")
    references: str | None = Field(
        default=None,
        description="another configured table's column the value must exist in: table.column or source.table.column",
    )
    on_fail: Action | dict[str, Action] = Field(
        default="quarantine", description="what a failure does: one action for every rule, or per rule name"
    )

    @field_validator("min", "max", mode="before")
    @classmethod
    def _dates_as_text(cls, value: Any) -> Any:
        """YAML reads an unquoted 1900-01-01 as a date: keep it as ISO text (a number stays a number)."""
        return value.isoformat() if hasattr(value, "isoformat") else value

    def rules(self) -> list[str]:
        """The rules this column sets (names as in RULE_NAMES and on_fail)."""
        return [
            rule
            for rule, on in (
                ("type", self.type is not None and self.type != "text"),
                ("required", self.required),
                ("unique", bool(self.unique)),
                ("pattern", self.pattern is not None),
                ("allowed", self.allowed is not None),
                ("min", self.min is not None),
                ("max", self.max is not None),
                ("not_in_future", self.not_in_future),
                ("references", self.references is not None),
            )
            if on
        ]

    def problems(self) -> list[str]:
        """What is inconsistent, as `key: what to fix` (Config prefixes the column's location)."""
        problems = []
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as error:
                problems.append(f"pattern: {self.pattern!r} is not a regular expression: {error}")
        if self.formats and self.type not in ("date", "timestamp"):
            problems.append("formats: needs type: date or type: timestamp")
        if self.not_in_future and self.type not in ("date", "timestamp"):
            problems.append("not_in_future: needs type: date or type: timestamp")
        for key in ("min", "max"):
            value = getattr(self, key)
            if value is None:
                continue
            if self.type in ("integer", "number"):
                if not isinstance(value, int | float):
                    problems.append(f"{key}: {value!r} is not a number (the column's type is {self.type})")
            elif self.type in ("date", "timestamp"):
                if self.bound(key) is None:
                    problems.append(f"{key}: {value!r} is not an ISO date such as 1900-01-01 (type {self.type})")
            else:
                problems.append(f"{key}: needs type: integer, number, date or timestamp")
        low, high = self.bound("min"), self.bound("max")
        if low is not None and high is not None and type(low) is type(high) and low > high:  # type: ignore[operator]
            problems.append(f"min: {self.min!r} is greater than max {self.max!r}")
        if self.allowed is not None and not self.allowed:
            problems.append("allowed: list at least one value")
        if self.allowed and self.type in ("integer", "number", "boolean"):
            kind = bool if self.type == "boolean" else (int, float)
            wrong = [v for v in self.allowed if not isinstance(v, kind) or (kind is not bool and isinstance(v, bool))]
            if wrong:
                problems.append(
                    f"allowed: {wrong} are not {'true/false' if kind is bool else 'numbers'} (type {self.type})"
                )
        if isinstance(self.on_fail, dict):
            unknown = sorted(set(self.on_fail) - set(RULE_NAMES))
            if unknown:
                problems.append(f"on_fail: unknown rule(s) {unknown}; rules are {list(RULE_NAMES)}")
            unset = sorted(set(self.on_fail) & set(RULE_NAMES) - set(self.rules()))
            if unset:
                problems.append(f"on_fail: names rule(s) {unset} that this column does not set")
        return problems

    def bound(self, key: str) -> float | str | None:
        """`min`/`max` as the gate compares it: a number, or for dates an ISO timestamp in UTC (None if unusable)."""
        value = getattr(self, key)
        if value is None:
            return None
        if self.type in ("date", "timestamp"):
            from datetime import UTC, datetime

            try:
                moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                return None
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
            return moment.isoformat()
        return float(value) if isinstance(value, int | float) else None

    def action(self, rule: str) -> Action:
        if isinstance(self.on_fail, dict):
            return self.on_fail.get(rule, "quarantine")
        return self.on_fail


class Freshness(_Strict):
    """Warn when the newest value of `column` in a delivery is older than `max_age_days` (judged on the newest
    delivery of a run). The column is read as a timestamp: ISO 8601, or one of `formats` (the column's own
    `formats` are tried too)."""

    column: str
    max_age_days: float | None = Field(default=None, gt=0, description="default: quality.freshness_days")
    formats: list[str] = []


class Volume(_Strict):
    """How many rows a delivery may have: at least `min_rows` and at most `max_rows` (block; `min_rows: 0` lets a
    delivery be empty), and not a jump of `max_jump_ratio` × the recent deliveries (block)."""

    min_rows: int = Field(default=1, ge=0)
    max_rows: int | None = Field(default=None, ge=1)
    max_jump_ratio: float | None = Field(default=None, gt=1, description="default: quality.volume_jump_ratio")

    @model_validator(mode="after")
    def _ordered(self) -> Volume:
        if self.max_rows is not None and self.min_rows > self.max_rows:
            raise ValueError(f"min_rows ({self.min_rows}) is greater than max_rows ({self.max_rows})")
        return self


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

    # quality rules (docs/configuration.md, "Quality rules"): per column, per table, and a suite module of the
    # project's own by path (relative to the configuration file)
    columns: dict[str, ColumnRules] = {}
    freshness: Freshness | None = None
    volume: Volume | None = None
    suite: str | None = Field(default=None, description="a Python suite module of the project, by path")

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
    created_at: str | None = Field(default=None, description="when the record was first created in the source")
    # A SQL expression giving a list of references this record shares with other systems, e.g. the order numbers a
    # customer placed or a ticket quotes. Two records quoting the same reference are strong evidence.
    reference_numbers: str | None = None
    # strptime formats tried in order for date_of_birth when the value is text
    date_formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y"])
    # ... and for updated_at / created_at after ISO 8601 (naive times are read in the project's time_zone)
    timestamp_formats: list[str] = Field(default_factory=lambda: list(TIMESTAMP_FORMATS))
    where: str | None = Field(default=None, description="optional SQL filter, e.g. is_active = 1")

    @model_validator(mode="after")
    def _has_a_name(self) -> IdentityMapping:
        if not (self.full_name or self.first_name or self.last_name):
            raise ValueError("map at least one of first_name, last_name or full_name")
        return self

    def expressions(self) -> dict[str, str | None]:
        """Identity field -> SQL expression (None where the source has no such field)."""
        return {field: getattr(self, field) for field in IDENTITY_FIELDS}


ENGAGEMENTS = ("sent", "delivered", "open", "click", "bounce", "unsubscribe")
FACT_KINDS = {"order": "fct_orders", "ticket": "fct_tickets", "marketing_event": "fct_marketing_events"}
# columns every touchpoint has (fct_touchpoints and the fact marts): an attribute may not take one of these names
TOUCHPOINT_COLUMNS = (
    "touchpoint_id",
    "customer_id",
    "source_system",
    "source_record_id",
    "source_table",
    "source_id",
    "stream",
    "kind",
    "occurred_at",
    "occurred_date",
    "last_activity_at",
    "updated_at",
    "channel",
    "touchpoint_type",
    "department",
    "direction",
    "summary",
    "status",
    "outcome",
    "sentiment",
    "amount",
    "currency",
    "reference",
    "revenue",
    "is_cancelled",
    "is_returned",
    "is_open",
    "is_complaint",
    "csat_score",
    "engagement",
    "recipient",
    "loaded_at",
)


class _RecordRows(_Strict):
    """Rows of one table (or project dbt model) that belong to identity records: the common part of touchpoint
    streams and consent statements. Values are SQL expressions over the table's columns (alias `source_rows`)."""

    table: Annotated[str | None, Field(pattern=_NAME)] = None
    model: Annotated[
        str | None, Field(pattern=_NAME, description="a dbt model of the project instead of a raw table")
    ] = None
    # which identity record a row belongs to: `record` is compared with `record_key` (default: the record id) of the
    # identity mapping `identity` (a source_system; default: the source's only identity mapping)
    record: str
    identity: Annotated[str | None, Field(pattern=_NAME)] = None
    record_key: str | None = Field(
        default=None, description="SQL over the identity mapping's table that `record` is compared with"
    )
    # naive times and the formats below are read in the project's time_zone
    timestamp_formats: list[str] = Field(default_factory=lambda: list(TIMESTAMP_FORMATS))
    where: str | None = Field(default=None, description="optional SQL filter over the rows")
    loaded_at: str | None = Field(
        default=None, description="model streams: when the row was loaded (default loaded_at)"
    )

    @model_validator(mode="before")
    @classmethod
    def _table_from_name(cls, data: Any) -> Any:
        """In the mapping form (`touchpoints: {orders: {...}}`) the name is also the table, unless one is named."""
        if isinstance(data, dict) and data.get("name") and not data.get("table") and not data.get("model"):
            return {**data, "table": data["name"]}
        return data

    @model_validator(mode="after")
    def _one_relation(self) -> _RecordRows:
        if bool(self.table) == bool(self.model):
            raise ValueError(
                "name exactly one of 'table' (a raw table of this source) or 'model' (a project dbt model)"
            )
        return self

    @property
    def relation_name(self) -> str:
        return self.table or self.model or ""


class TouchpointKpis(_Strict):
    """Which values of a touchpoint feed the 360 KPIs and next-best-action signals (all SQL, all optional)."""

    revenue: str | None = Field(default=None, description="amount counted as revenue (lifetime value, windows)")
    is_cancelled: str | None = Field(default=None, description="a cancelled order: not counted as an order")
    is_returned: str | None = None
    is_open: str | None = Field(default=None, description="an open case: counts as an open ticket")
    is_complaint: str | None = None
    satisfaction: str | None = Field(default=None, description="a satisfaction rating (CSAT)")
    satisfaction_scale: tuple[float, float] = Field(default=(1, 5), description="the rating's range, mapped onto 1..5")
    engagement: str | None = Field(
        default=None, description=f"a marketing engagement: one of {', '.join(ENGAGEMENTS)} (others are ignored)"
    )
    recipient: str | None = Field(default=None, description="the e-mail address a message went to (bounces)")

    @model_validator(mode="after")
    def _scale(self) -> TouchpointKpis:
        low, high = self.satisfaction_scale
        if not low < high:
            raise ValueError(f"satisfaction_scale must be [lowest, highest], got {list(self.satisfaction_scale)}")
        return self


class TouchpointStream(_RecordRows):
    """A table whose rows are interactions with a person: orders, tickets, campaign events, visits, calls.

    Every stream becomes rows of marts.fct_touchpoints (the timeline); streams of kind `order`, `ticket` and
    `marketing_event` also become rows of fct_orders, fct_tickets and fct_marketing_events.
    """

    name: Annotated[str | None, Field(pattern=_NAME, description="default: the table's (model's) name")] = None
    kind: Annotated[str, Field(pattern=_NAME, description="order, ticket, marketing_event, or any word: visit, call")]
    id: str | None = Field(default=None, description="SQL: the touchpoint's id (default: the table's primary key)")
    occurred_at: str
    updated_at: str | None = Field(default=None, description="SQL: the latest version of a touchpoint wins")
    last_activity_at: str | None = None
    channel: str | None = Field(default=None, description="SQL, e.g. lower(channel) or 'email'")
    type: str | None = Field(default=None, description="SQL: the touchpoint type shown (default: the kind)")
    title: str | None = Field(default=None, description="SQL: one line that says what happened")
    status: str | None = None
    amount: str | None = None
    currency: str | None = None
    reference: str | None = Field(default=None, description="SQL: a number people quote (order number): searchable")
    direction: str | None = Field(default=None, description="SQL: inbound or outbound (default: inbound)")
    department: Annotated[str | None, Field(pattern=_NAME, description="who owns it (default: the source)")] = None
    sentiment: str | None = Field(default=None, description="SQL: positive, neutral or negative (default: from KPIs)")
    kpis: TouchpointKpis = TouchpointKpis()
    # further columns for the kind's fact mart (fct_orders …): name -> SQL
    attributes: dict[str, str] = {}

    @field_validator("attributes")
    @classmethod
    def _attribute_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.match(_NAME, name):
                raise ValueError(f"attribute name {name!r}: use lower case letters, digits and _")
            if name in TOUCHPOINT_COLUMNS:
                raise ValueError(f"attribute {name!r} is a standard touchpoint column: map it by its own key")
        return value

    @property
    def stream_name(self) -> str:
        return self.name or self.relation_name


class ConsentStatement(_RecordRows):
    """Where a source says what a person allows: an opt-in flag, a double-opt-in time, an unsubscribe event.

    The latest statement per customer, purpose and channel wins (marts.dim_customer, next_best_action).
    """

    name: Annotated[str | None, Field(pattern=_NAME, description="default: <table>_<purpose>")] = None
    purpose: Annotated[str, Field(pattern=_NAME, description="newsletter, offers, profiling, phone_calls, post, sms …")]
    channel: Annotated[str | None, Field(pattern=_NAME, description="email, phone, post, sms … (default: any)")] = None
    status: str = Field(description="SQL yielding 'opted_in' or 'opted_out' (anything else: no statement)")
    at: str = Field(description="SQL: when the statement was made")
    id: str | None = Field(default=None, description="SQL: one statement per id (default: the record)")
    updated_at: str | None = Field(default=None, description="SQL: the latest version of a statement wins")
    legal_basis: str | None = Field(default=None, description="SQL, e.g. 'consent' or 'legitimate_interest'")

    @property
    def statement_name(self) -> str:
        return self.name or f"{self.relation_name}_{self.purpose}"


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
    touchpoints: list[TouchpointStream] = []
    consent: list[ConsentStatement] = []

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
        for kind, items in (("touchpoint stream", self.touchpoints), ("consent statement", self.consent)):
            for item in items:
                if item.table and item.table not in names:
                    raise ValueError(f"{kind} names table '{item.table}', which is not in tables {names}")
        streams = [stream.stream_name for stream in self.touchpoints]
        if len(set(streams)) != len(streams):
            raise ValueError(f"touchpoint stream names must be unique within a source, got {streams}: set 'name'")
        statements = [statement.statement_name for statement in self.consent]
        if len(set(statements)) != len(statements):
            raise ValueError(f"consent statement names must be unique within a source, got {statements}: set 'name'")
        for stream in self.touchpoints:
            if stream.id is None and not (stream.table and self.table(stream.table).primary_key):
                raise ValueError(
                    f"touchpoint stream '{stream.stream_name}': set 'id' (the table has no primary_key to use)"
                )
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
    spec: str = Field(
        default="customer", description="a built-in model spec by name (customer), or the path of the project's own"
    )
    # pairs below 0.5 are never stored (entity_resolution/resolve.py), so they could never link. 0.9: the guard rails,
    # not the threshold, keep households apart; on every labelled data set precision is the same from 0.5 to 0.99
    # (docs/entity-resolution.md, "At each threshold"), and 0.9 is the lowest threshold measured at a million people
    match_probability_threshold: float = Field(default=0.9, ge=0.5, lt=1)
    cluster_size_cap: int = Field(default=25, ge=2)


class QualityConfig(_Strict):
    """When the quality gate rejects a whole batch instead of quarantining rows (docs/quality.md)."""

    max_bad_share: float = Field(default=0.1, ge=0, le=1, description="share of bad rows that rejects a batch")
    min_bad_rows: int = Field(default=20, ge=0, description="fewer bad rows never reject a batch")
    volume_jump_ratio: float = Field(default=10.0, gt=1, description="a batch this many times larger is suspicious")
    volume_jump_min_rows: int = Field(default=1000, ge=0)
    volume_collapse_min_rows: int = Field(
        default=10, ge=0, description="an empty batch is rejected when recent batches had at least this many rows"
    )
    history_batches: int = Field(default=5, ge=1, description="earlier batches that form the reference")
    freshness_days: float = Field(default=30.0, gt=0, description="warn when the newest change is older")
    missing_column_chance: float = Field(default=1e-6, gt=0, lt=1)
    missing_column_min_fill: float = Field(default=0.5, ge=0, le=1)
    allow_new_columns: bool = False
    max_identity_value_length: int = Field(
        default=200, ge=20, description="longer mapped identity values quarantine their row (value_too_long)"
    )


class RulesConfig(_Strict):
    """The project's own rule files (paths relative to the configuration file); default: the product's."""

    next_best_action: str | None = Field(default=None, description="the next-best-action playbook (YAML)")
    survivorship: str | None = Field(default=None, description="which record's value survives (YAML)")


class ProcessingPurpose(_Strict):
    name: Annotated[str, Field(pattern=_NAME)]
    description: str
    legal_basis: str


class PrivacyConfig(_Strict):
    """What a data-subject request needs to know (docs/privacy.md): why the data is processed. Replace the
    product's purposes with the project's own, as its record of processing activities says."""

    purposes: list[ProcessingPurpose] = Field(
        default_factory=lambda: [
            ProcessingPurpose(
                name="customer_service",
                description="One view of the customer for service staff, to answer and resolve requests",
                legal_basis="contract (Art. 6(1)(b) GDPR); legitimate interest (Art. 6(1)(f))",
            ),
            ProcessingPurpose(
                name="identity_resolution",
                description="Linking the records of one person across systems, so that the view is complete and"
                " nobody is shown another person's data",
                legal_basis="legitimate interest (Art. 6(1)(f)); data accuracy (Art. 5(1)(d))",
            ),
            ProcessingPurpose(
                name="next_best_action",
                description="Suggesting the next contact; advertising only as far as consent allows",
                legal_basis="legitimate interest (Art. 6(1)(f)); consent (Art. 6(1)(a)) where a rule requires it",
            ),
            ProcessingPurpose(
                name="reporting",
                description="Reports on customer value and service quality for the business",
                legal_basis="legitimate interest (Art. 6(1)(f))",
            ),
        ],
        min_length=1,
    )


class RetentionConfig(_Strict):
    """How long personal data is kept (docs/privacy.md#retention), in days; applied at the end of every run.
    Unset: kept until erased."""

    replaced_raw_days: int | None = Field(
        default=None,
        ge=1,
        description="raw rows a later delivery of the same record replaced; rejected and superseded deliveries",
    )
    quarantine_days: int | None = Field(default=None, ge=1, description="rows held in quarantine and never released")
    snapshot_days: int | None = Field(default=None, ge=1, description="published snapshots but the current one")
    audit_days: int | None = Field(default=None, ge=1, description="the console's audit log")
    report_days: int | None = Field(default=None, ge=1, description="quality, resolution and review reports")
    export_days: int | None = Field(default=30, ge=1, description="access exports (c360 privacy export)")


class DbtConfig(_Strict):
    """dbt files of the project, built together with the product's models (paths relative to the configuration
    file). Models may read raw tables with source('<source>', '<table>') and any product model with ref()."""

    models: str | None = None
    macros: str | None = None
    tests: str | None = None


class Config(_Strict):
    version: Literal[1] = 1
    project: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")] = "customer360"
    warehouse: WarehouseConfig = WarehouseConfig()
    data_dir: str = Field(default="data", description="root for published snapshots, reports and state")
    time_zone: str = Field(default="UTC", description="calendar dates and naive times are read in this zone")
    default_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = Field(
        default="DE", description="ISO code of records without a country: national phone numbers, postcodes"
    )
    resolution: ResolutionConfig = ResolutionConfig()
    quality: QualityConfig = QualityConfig()
    rules: RulesConfig = RulesConfig()
    dbt: DbtConfig = DbtConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    retention: RetentionConfig = RetentionConfig()
    sources: list[SourceConfig]

    # Set by load_config: the file the configuration came from (relative paths resolve against its folder).
    file: Path = Path(DEFAULT_CONFIG)

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
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

    def problems(self) -> list[str]:
        """What the configuration gets wrong across sources and tables (checked by load_config, one line each)."""
        return [*self._record_problems(), *self._column_problems()]

    def _record_problems(self) -> list[str]:
        """Touchpoint streams and consent statements point into an identity mapping that exists."""
        problems = []
        systems = {system: source.name for system, source, _ in self.identity_mappings()}
        for source in self.sources:
            own = [system for system, owner in systems.items() if owner == source.name]
            for label, items in (("touchpoints", source.touchpoints), ("consent", source.consent)):
                for item in items:
                    where = f"sources[{source.name}].{label}[{item.relation_name}]"
                    if item.identity is not None and item.identity not in systems:
                        problems.append(
                            f"{where}.identity: no identity mapping '{item.identity}' (there are {sorted(systems)})"
                        )
                    elif item.identity is None and len(own) != 1:
                        problems.append(
                            f"{where}: set 'identity' to the identity mapping the rows belong to "
                            f"(source '{source.name}' has {len(own)} of its own; all: {sorted(systems)})"
                        )
        return problems

    def _column_problems(self) -> list[str]:
        """Quality rules are consistent and name tables and columns the configuration knows."""
        problems = []
        for source in self.sources:
            for table in source.tables:
                where = f"sources[{source.name}].tables[{table.name}]"
                declared = set(table.columns)
                if declared:
                    for key in table.primary_key:
                        if key not in declared:
                            problems.append(f"{where}.primary_key: column '{key}' is not among its columns")
                    if table.freshness and table.freshness.column not in declared:
                        problems.append(
                            f"{where}.freshness.column: '{table.freshness.column}' is not among its columns "
                            f"{sorted(declared)}"
                        )
                for column, rules in table.columns.items():
                    at = f"{where}.columns[{column}]"
                    problems.extend(f"{at}.{problem}" for problem in rules.problems())
                    if isinstance(rules.unique, list):
                        for other in rules.unique:
                            if other == column or other not in declared:
                                problems.append(
                                    f"{at}.unique: '{other}' is not another of the table's columns "
                                    f"{sorted(declared - {column})}"
                                )
                    if rules.references:
                        problem = self._reference_problem(source, rules.references)
                        if problem:
                            problems.append(f"{at}.references: {problem}")
        return problems

    def _reference_problem(self, source: SourceConfig, reference: str) -> str | None:
        try:
            target_source, target_table, target_column = self.resolve_reference(source, reference)
        except ValueError as error:
            return str(error)
        table = target_source.table(target_table)
        known = set(table.columns) | set(table.primary_key)
        if table.columns and target_column not in known:
            return f"'{target_source.name}.{target_table}' has no column '{target_column}' (it has {sorted(known)})"
        return None

    def resolve_reference(self, source: SourceConfig, reference: str) -> tuple[SourceConfig, str, str]:
        """`table.column` (same source) or `source.table.column` → (source, table, column)."""
        parts = reference.split(".")
        if len(parts) == 2:
            target, (table, column) = source, parts
        elif len(parts) == 3:
            if parts[0] not in {s.name for s in self.sources}:
                raise ValueError(f"no source '{parts[0]}' (write table.column or source.table.column)")
            target, table, column = self.source(parts[0]), parts[1], parts[2]
        else:
            raise ValueError(f"'{reference}' is not table.column or source.table.column")
        if table not in [t.name for t in target.tables]:
            raise ValueError(f"source '{target.name}' has no table '{table}'")
        return target, table, column

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

    def project_models(self) -> set[str]:
        """Names of the project's own dbt models (files under dbt.models)."""
        if not self.dbt.models or not self.resolve_path(self.dbt.models).is_dir():
            return set()
        return {path.stem for path in self.resolve_path(self.dbt.models).rglob("*.sql")}

    def identity_system(self, source: SourceConfig, item: _RecordRows) -> str:
        """The identity mapping (source_system) a stream's or statement's rows belong to."""
        if item.identity is not None:
            return item.identity
        return next(system for system, owner, _ in self.identity_mappings() if owner.name == source.name)

    def identity_mapping(self, system: str) -> tuple[SourceConfig, IdentityMapping]:
        for name, source, mapping in self.identity_mappings():
            if name == system:
                return source, mapping
        raise KeyError(system)

    def touchpoint_streams(self) -> list[tuple[SourceConfig, TouchpointStream]]:
        return [(source, stream) for source in self.sources for stream in source.touchpoints]

    def consent_statements(self) -> list[tuple[SourceConfig, ConsentStatement]]:
        return [(source, statement) for source in self.sources for statement in source.consent]

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
        config = Config.model_validate({**data, "file": file})
    except ValidationError as error:
        raise ConfigError(_describe(file, data, error)) from None
    _check_project_files(config)
    return config


def _check_project_files(config: Config) -> None:
    """Cross-references between sources and tables hold, and the files the configuration names (rules, suites, dbt
    folders and models, model spec) exist and are valid."""
    from customer360.core.rules import load_rules

    problems = config.problems()
    for source in config.sources:
        for table in source.tables:
            if table.suite and not config.resolve_path(table.suite).is_file():
                problems.append(
                    f"sources[{source.name}].tables[{table.name}].suite: {config.resolve_path(table.suite)} not found"
                )
    for key in ("models", "macros", "tests"):
        folder = getattr(config.dbt, key)
        if folder and not config.resolve_path(folder).is_dir():
            problems.append(f"dbt.{key}: folder {config.resolve_path(folder)} not found")
    models = config.project_models()
    for source in config.sources:
        for label, items in (("touchpoints", source.touchpoints), ("consent", source.consent)):
            for item in items:
                if item.model and item.model not in models:
                    where = f"sources[{source.name}].{label}[{item.relation_name}].model"
                    problems.append(
                        f"{where}: no dbt model '{item.model}' in "
                        + (
                            f"{config.resolve_path(config.dbt.models)}"
                            if config.dbt.models
                            else "the project (set dbt.models)"
                        )
                    )
    spec = config.resolution.spec
    if ("/" in spec or spec.endswith((".yml", ".yaml"))) and not config.resolve_path(spec).is_file():
        problems.append(f"resolution.spec: {config.resolve_path(spec)} not found (or name a built-in spec: customer)")
    if problems:
        raise ConfigError(
            f"{config.file}: {len(problems)} problem(s) in the configuration\n  - " + "\n  - ".join(problems)
        )
    load_rules(config)


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

    def columns(table: Any) -> Any:
        """`columns:` as a mapping name -> rules; a bare name (or `name:` with nothing) declares a column."""
        if not isinstance(table, dict) or "columns" not in table:
            return table
        value = table["columns"]
        if isinstance(value, list):
            value = {name: None for name in value} if all(isinstance(n, str) for n in value) else value
        if isinstance(value, dict):
            value = {name: {} if rules is None else rules for name, rules in value.items()}
        return {**table, "columns": value}

    sources = as_list(data.get("sources"))
    if isinstance(sources, list):
        sources = [
            {
                **source,
                "tables": [columns(t) for t in as_list(source.get("tables")) or []],
                **{key: as_list(source[key]) for key in ("touchpoints", "consent") if key in source},
            }
            if isinstance(source, dict) and isinstance(as_list(source.get("tables")), list)
            else source
            for source in sources
        ]
    return {**data, "sources": sources} if "sources" in data else data


def _describe(file: Path, data: dict[str, Any], error: ValidationError) -> str:
    """Turn pydantic's errors into `file: key.path: what is expected` lines, naming sources and tables by name."""
    lines = [f"{file}: {error.error_count()} problem(s) in the configuration"]
    for problem in error.errors():
        location = readable_location(data, problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/configuration.md)"
        elif problem["type"] == "missing":
            message = "required key is missing"
        lines.append(f"  - {location or '(top level)'}: {message}")
    return "\n".join(lines)


def readable_location(data: Any, loc: tuple[int | str, ...], labels: tuple[str, ...] = ("name", "table")) -> str:
    """`sources[sales].tables[orders].columns[total].type`: list items by their first label (`name`, `table`),
    mapping keys of `columns`, `attributes` … in brackets. For pydantic's error locations in YAML files."""
    parts: list[str] = []
    node = data
    keyed = {"columns", "attributes"}
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            node = node[key]
            label = next((node[name] for name in labels if node.get(name)), None) if isinstance(node, dict) else None
            parts[-1:] = [f"{parts[-1]}[{label or key}]"] if parts else [f"[{key}]"]
            continue
        if parts and parts[-1] in keyed and isinstance(node, dict):
            parts[-1] = f"{parts[-1]}[{key}]"
        else:
            parts.append(str(key))
        node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts)
