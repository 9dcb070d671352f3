"""The resolution stage: identity records in, stable customer IDs out.

    staging.int_identity_records
      → entity_resolution.records        the model's view of every record, with a fingerprint
      → entity_resolution.pairs          scored pairs (Splink predict_within / predict_between, frozen TF tables)
      → entity_resolution.links          pairs above the threshold, vetoed by guard rails or decisions, or accepted
      → entity_resolution.components     record → component (connected links) → cluster (after guard rails)
      → entity_resolution.identity_map   record → stable customer_id (+ customers, customer_id_history)

Incremental by default: only records that are new or whose matching attributes changed are scored (against
everything), and only the components they touch are re-clustered. A full run (`--full`, a new model, or a changed
threshold or cap) re-scores and re-clusters everything; both give the same clusters.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from customer360.core import decisions
from customer360.core.warehouse import table_exists
from entity_resolution import clustering, explain, review, stable_ids
from entity_resolution.model import WORK_SCHEMA, TrainedModel, drop_work_schema, load_linker, splink_api
from entity_resolution.spec import ModelSpec

log = logging.getLogger(__name__)

ER = "entity_resolution"
RECORDS_SOURCE = "staging.int_identity_records"
# Pairs below this are not kept: they can never become links, and explanations only need plausible pairs.
STORE_THRESHOLD = 0.5
# temp table on the run's connection: the records this run re-clustered (everything in a full run)
SCOPE = "cluster_scope"

DDL = f"""
create schema if not exists {ER};
create table if not exists {ER}.components (record_key varchar, component_key varchar, cluster_key varchar);
create table if not exists {ER}.refused_links (
    component_key varchar, record_key_l varchar, record_key_r varchar, reason varchar
);
create table if not exists {ER}.runs (
    run_id varchar primary key,
    mode varchar,
    model_id varchar,
    threshold double,
    cluster_size_cap integer,
    records bigint,
    records_changed bigint,
    records_removed bigint,
    pairs_scored bigint,
    links_accepted bigint,
    links_vetoed bigint,
    components_reclustered bigint,
    links_refused bigint,
    customers bigint,
    events json,
    seconds json,
    finished_at timestamptz
);
-- what the links were judged by (md5 of the guard rails' SQL): other rails re-judge every link
alter table {ER}.runs add column if not exists guard_rails varchar;
"""


@dataclass
class ResolutionReport:
    run_id: str
    mode: str
    model_id: str
    records: int = 0
    records_changed: int = 0
    records_removed: int = 0
    pairs_scored: int = 0
    links_accepted: int = 0
    links_vetoed: int = 0
    components_reclustered: int = 0
    links_refused: int = 0
    customers: int = 0
    multi_record_customers: int = 0
    bridge_records: int = 0
    review_candidates: int = 0
    events: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    charts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve(
    con: duckdb.DuckDBPyConnection,
    model: TrainedModel,
    run_id: str,
    state_dir: Path,
    threshold: float,
    cluster_size_cap: int,
    full: bool = False,
) -> ResolutionReport:
    """Resolve in one transaction: a run killed or failing halfway leaves the previous resolution as it was, and
    the next run resolves what this one would have (an incremental run resumes from consistent tables)."""
    con.execute(DDL)
    con.execute(stable_ids.DDL)
    con.begin()
    try:
        report = _resolve(con, model, run_id, state_dir, threshold, cluster_size_cap, full)
    except BaseException:
        con.rollback()
        raise
    con.commit()
    return report


def _resolve(
    con: duckdb.DuckDBPyConnection,
    model: TrainedModel,
    run_id: str,
    state_dir: Path,
    threshold: float,
    cluster_size_cap: int,
    full: bool,
) -> ResolutionReport:
    spec = model.spec
    timer = _Timer()

    previous = con.execute(
        f"select model_id, threshold, cluster_size_cap, guard_rails from {ER}.runs order by finished_at desc limit 1"
    ).fetchone()
    guard_rails = _guard_rails_digest(spec)
    has_records = table_exists(con, ER, "records") and table_exists(con, ER, "pairs")
    if not full and (previous is None or not has_records):
        full = True
    elif not full and previous != (model.model_id, threshold, cluster_size_cap, guard_rails):
        log.info("model, threshold, size cap or guard rails changed since the last run: resolving everything")
        full = True
    report = ResolutionReport(run_id=run_id, mode="full" if full else "incremental", model_id=model.model_id)

    # 1. what changed since the last run: new records, records whose matching attributes changed, removed records
    records = _records_query(model)
    if full:
        con.execute(f"create or replace table {ER}.records as {records}")
        con.execute(f"create or replace temp table changed_records as select record_key from {ER}.records")
        con.execute(
            f"create or replace temp table removed_records as select record_key from {ER}.identity_map"
            f" anti join {ER}.records using (record_key)"
        )
    else:
        con.execute(
            f"""
            create or replace temp table changed_records as
            select * from ({records}) anti join {ER}.records using (record_key, record_fingerprint);
            create or replace temp table removed_records as
            select record_key from {ER}.records anti join {RECORDS_SOURCE} using (record_key);
            delete from {ER}.records
            where record_key in (select record_key from changed_records union all select record_key from removed_records);
            insert into {ER}.records select * from changed_records;
            """
        )
    report.records = _count(con, f"{ER}.records")
    report.records_changed = _count(con, "changed_records")
    report.records_removed = _count(con, "removed_records")
    timer.lap("diff")

    # 2. score new and changed records against everything; pairs of changed or removed records go
    if full and table_exists(con, ER, "pairs"):
        con.execute(f"drop table {ER}.pairs")
    elif table_exists(con, ER, "pairs"):
        con.execute(
            f"""
            delete from {ER}.pairs
            where record_key_l in (select record_key from changed_records union all select record_key from removed_records)
               or record_key_r in (select record_key from changed_records union all select record_key from removed_records)
            """
        )
    if report.records_changed or not table_exists(con, ER, "pairs"):
        report.pairs_scored = _score(con, model, full)
    timer.lap("score")

    # 3. decisions and links: in an incremental run only links touching changed records or changed decisions
    previous_decisions = _snapshot_decisions(con)
    decisions.sync_to_warehouse(con, state_dir)
    if full:
        clustering.build_links(con, spec.cannot_link_rules, spec.link_requirements, threshold)
        con.execute(f"create or replace temp table {SCOPE} as select record_key from {ER}.records")
        con.execute(f"delete from {ER}.components")
    else:
        con.execute(
            f"""
            create or replace temp table affected_records as
            select record_key from changed_records
            union select record_key from removed_records
            union select unnest([record_key_l, record_key_r]) from (
                (select record_key_l, record_key_r, decision from {ER}.decisions
                 except select record_key_l, record_key_r, decision from {previous_decisions})
                union all
                (select record_key_l, record_key_r, decision from {previous_decisions}
                 except select record_key_l, record_key_r, decision from {ER}.decisions)
            );
            create or replace temp table seeds as
            select record_key from affected_records
            union select unnest([record_key_l, record_key_r]) from {ER}.links
            where is_accepted
              and (record_key_l in (select record_key from affected_records)
                   or record_key_r in (select record_key from affected_records));
            """
        )
        clustering.build_links(con, spec.cannot_link_rules, spec.link_requirements, threshold, "affected_records")
        # re-cluster the previous components around every seed, plus the records of new links
        con.execute(
            f"""
            insert into seeds
            select unnest([record_key_l, record_key_r]) from {ER}.links
            where is_accepted
              and (record_key_l in (select record_key from affected_records)
                   or record_key_r in (select record_key from affected_records));
            create or replace temp table {SCOPE} as
            select distinct record_key from (
                select record_key from seeds
                union all
                select record_key from {ER}.components
                where component_key in (select component_key from {ER}.components semi join seeds using (record_key))
            )
            semi join {ER}.records using (record_key);
            delete from {ER}.components where record_key in (select record_key from removed_records);
            """
        )
    report.links_accepted, report.links_vetoed = con.execute(
        f"select count(*) filter (where is_accepted), count(*) filter (where not is_accepted) from {ER}.links"
    ).fetchone()
    timer.lap("links")

    # 4. re-cluster the scope: connected components, then guard rails where a component has a conflict
    db_api = splink_api(con)
    outcome = clustering.cluster_scope(con, db_api, SCOPE, cluster_size_cap, spec.cannot_link_rules)
    report.components_reclustered = outcome["components_reclustered"]
    report.links_refused = outcome["links_refused"]
    clustering.bridge_records(
        con, scope_table=None if full else SCOPE, removed_table=None if full else "removed_records"
    )
    timer.lap("cluster")

    # 5. stable IDs
    report.events = stable_ids.assign_customer_ids(
        con, run_id, scope_table=None if full else SCOPE, removed_table="removed_records"
    )
    report.customers, report.multi_record_customers = con.execute(
        f"""
        select count(*), count(*) filter (where records > 1)
        from (select customer_id, count(*) as records from {ER}.identity_map group by all)
        """
    ).fetchone()
    report.bridge_records = _count(con, f"{ER}.bridge_records")
    timer.lap("stable_ids")
    explain.build_match_evidence(con, model, scope_table=None if full else SCOPE)
    timer.lap("evidence")
    # pairs for the review loop, in every band of match probability (entity_resolution/review.py)
    report.review_candidates = review.build_review_candidates(
        con, model, run_id, state_dir, threshold, STORE_THRESHOLD, full
    )
    timer.lap("review")
    report.seconds = timer.laps

    con.execute(
        f"""
        insert or replace into {ER}.runs values (
            ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?
        )
        """,
        [
            run_id,
            report.mode,
            model.model_id,
            threshold,
            cluster_size_cap,
            report.records,
            report.records_changed,
            report.records_removed,
            report.pairs_scored,
            report.links_accepted,
            report.links_vetoed,
            report.components_reclustered,
            report.links_refused,
            report.customers,
            json.dumps(report.events),
            json.dumps(report.seconds),
            guard_rails,
        ],
    )
    drop_work_schema(con)
    return report


def _records_query(model: TrainedModel) -> str:
    """The rows of entity_resolution.records: what the model and the guard rails read, and how common the first name
    is among the records the model was trained on (share and count, from its frozen term-frequency table, so a full
    and an incremental run judge a pair alike): two common names a letter apart, Anna and Anja, are two names."""
    columns = ", ".join(dict.fromkeys([*model.spec.columns, "source_record_id", "record_fingerprint"]))
    tf_table = model.tf_table_path("first_name_canonical")
    trained_on = model.training_report.get("records")
    if "first_name_canonical" not in model.spec.columns or not tf_table.is_file() or not trained_on:
        return (
            f"select {columns}, cast(null as double) as first_name_frequency,"
            f" cast(null as bigint) as first_name_records from {RECORDS_SOURCE}"
        )
    path = str(tf_table).replace("'", "''")
    return (
        f"select {columns}, tf.tf_first_name_canonical as first_name_frequency,"
        f" cast(round(tf.tf_first_name_canonical * {int(trained_on)}) as bigint) as first_name_records"
        f" from {RECORDS_SOURCE} left join read_parquet('{path}') as tf using (first_name_canonical)"
    )


def _guard_rails_digest(spec: ModelSpec) -> str:
    rails = [(rule.name, rule.sql) for rule in [*spec.cannot_link_rules, *spec.link_requirements]]
    return hashlib.md5(json.dumps(rails).encode(), usedforsecurity=False).hexdigest()


def _score(con: duckdb.DuckDBPyConnection, model: TrainedModel, full: bool) -> int:
    """Score changed records within themselves and against the unchanged ones; append to entity_resolution.pairs."""
    spec: ModelSpec = model.spec
    db_api = splink_api(con)
    model_columns = ", ".join(spec.columns)
    all_records = db_api.register(con.sql(f"select {model_columns} from {ER}.records"), table_name="records_all")
    linker = load_linker(con, model, all_records, db_api)
    if full:
        scored = [
            linker.inference.predict_within(
                all_records, threshold_match_probability=STORE_THRESHOLD, warning_mode="never"
            )
        ]
    else:
        changed = db_api.register(con.sql(f"select {model_columns} from changed_records"), table_name="records_changed")
        # materialised once: Splink reads its input several times (explode, blocking, scoring), a view re-runs it
        partners = spec.blocking_partners_sql("changed_records", f"{ER}.records")
        con.execute(f"create or replace temp table blocking_partners as select {model_columns} from ({partners})")
        unchanged = db_api.register(con.table("blocking_partners"), table_name="records_unchanged")
        scored = [
            linker.inference.predict_within(changed, threshold_match_probability=STORE_THRESHOLD, warning_mode="never"),
            linker.inference.predict_between(
                changed, unchanged, threshold_match_probability=STORE_THRESHOLD, warning_mode="never"
            ),
        ]
    total = 0
    for name in ("records_all", "records_changed", "records_unchanged", *(f"frozen_tf_{c}" for c in spec.tf_columns())):
        con.unregister(name)  # Splink registered these as views on this connection; the next run registers again
    con.execute("drop table if exists blocking_partners")
    for predictions in scored:
        oriented = _oriented_sql(con, predictions.physical_name)
        if not table_exists(con, ER, "pairs"):
            con.execute(f"create table {ER}.pairs as {oriented} limit 0")
        con.execute(f"insert into {ER}.pairs by name {oriented}")
        total += _count(con, predictions.physical_name)
        predictions.drop_table_from_database_and_remove_from_cache()
    return total


def _oriented_sql(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Select a predictions table with record_key_l < record_key_r (predict_between keeps left/right roles)."""
    columns = [row[0] for row in con.execute(f"select * from {table} limit 0").description]
    swap = "record_key_l > record_key_r"
    selected = []
    for column in columns:
        if column.endswith("_l") and column[:-2] + "_r" in columns:
            other = column[:-2] + "_r"
            selected.append(f'case when {swap} then "{other}" else "{column}" end as "{column}"')
        elif column.endswith("_r") and column[:-2] + "_l" in columns:
            other = column[:-2] + "_l"
            selected.append(f'case when {swap} then "{other}" else "{column}" end as "{column}"')
        else:
            selected.append(f'"{column}"')
    return f"select {', '.join(selected)} from {table}"


def _snapshot_decisions(con: duckdb.DuckDBPyConnection) -> str:
    """The decisions the previous run obeyed, to find the records whose decisions changed since."""
    con.execute(
        "create or replace temp table previous_decisions (record_key_l varchar, record_key_r varchar, decision varchar)"
    )
    if table_exists(con, ER, "decisions"):
        con.execute(f"insert into previous_decisions select record_key_l, record_key_r, decision from {ER}.decisions")
    return "previous_decisions"


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"select count(*) from {table}").fetchone()
    return int(row[0]) if row else 0


class _Timer:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


__all__ = ["ResolutionReport", "resolve", "WORK_SCHEMA"]
