"""`c360 bench`: how fast is the pipeline on this machine, as ratios against a yardstick.

1. generate N demo people, then run every stage of `c360 run` in its own process (as Airflow would), timing
   each and reading its peak memory (the process's and its children's, e.g. dbt's);
2. on the same identity records, run a bare Splink 5 predict + cluster with library-default comparisons and the
   same candidate pairs (blocking rules) as the yardstick: resolution time / yardstick time is the ratio to watch;
3. hold back 1 % of the identity records, resolve the rest in full, then add the 1 % back and resolve
   incrementally: incremental time / full time;
4. freshness (issue 17), each as `c360 run` runs it, in one process: a run with nothing new; the next delivery
   (one more month: about 1 % new identity records and 1 % changed, and that month's orders, events and tickets,
   of every silo) through every stage; a "not the same person" decision published as the console publishes it
   (`c360 decisions apply`); and a delivery of one silo within the same day (`c360 run --source marketing`: 0.5 %
   of the newsletter contacts changed their phone number), the micro-batch path. Their time / the full run's.

The demo world is spread over DELIVERIES monthly deliveries: the full run (1.) loads all but the last, the next
delivery is the last. Accuracy is measured after it, before the decision.

Results go to bench/results.json (the last run, with machine details) and are printed as a table.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from c360_devtools.demo.project import REPO

RESULTS = REPO / "bench" / "results.json"
# Monthly deliveries of the demo world. The generator spreads late sign-ups and later changes evenly over the
# deliveries after the first, so with 24 the last one is an increment of about 1 % (2 would make it 17 % new).
# They end two years after the first, in the past: the quality gate holds back data from the future.
DELIVERIES = 24
FIRST_DELIVERY = date(2024, 9, 1)
SAME_DAY_SHARE = 0.005  # of the latest newsletter export's contacts, changed within the day: the micro-batch


@dataclass
class StageTiming:
    stage: str
    seconds: float
    peak_memory_mib: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class BenchResult:
    people: int
    seed: int
    machine: dict[str, Any]
    stages: list[StageTiming] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)
    finished_at: str = ""

    def stage(self, name: str) -> StageTiming:
        return next(timing for timing in self.stages if timing.stage == name)


def machine() -> dict[str, Any]:
    import duckdb
    import splink

    memory_kib = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024**2, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "splink": splink.__version__,
        "os": platform.platform(),
    }


def run_stage_in_child(config_path: Path, stage: str, run_id: str, started_at: str, **options: Any) -> StageTiming:
    """Run one stage in a fresh Python process; its wall time and peak RSS (incl. its children) come back as JSON."""
    command = [
        sys.executable,
        "-m",
        "c360_devtools.bench",
        "stage",
        str(config_path),
        stage,
        run_id,
        started_at,
        json.dumps(options),
    ]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"stage {stage} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return StageTiming(stage, round(seconds, 2), report["peak_memory_mib"], report.get("detail", {}))


def _stage_main(config_path: str, stage: str, run_id: str, started_at: str, options: str) -> None:
    """Entry point of the child process (python -m c360_devtools.bench stage ...)."""
    import logging

    from customer360 import pipeline
    from customer360.core.config import load_config

    logging.disable(logging.WARNING)
    config = load_config(config_path)
    ctx = pipeline.RunContext(config, run_id, datetime.fromisoformat(started_at))
    kwargs = json.loads(options)
    if stage == "yardstick":
        detail = yardstick(config)
    elif stage == "hold_back":
        detail = hold_back(config, kwargs["fraction"])
    elif stage == "restore":
        detail = restore(config)
    elif stage in {"resolve_full", "resolve_incremental"}:
        detail = pipeline.resolve(ctx, full=stage == "resolve_full").as_dict()
    elif stage == "train":
        detail = {"model": pipeline.train(ctx).model_id}
    elif stage == "run_same_day_delivery":
        detail = _run_whole(ctx, sources=["marketing"])
    elif stage in {"run_nothing_new", "run_next_delivery"}:
        detail = _run_whole(ctx)
        if detail["nothing_new"] != (stage == "run_nothing_new"):  # else the figure would be of another kind of run
            raise SystemExit(f"{stage}: the run {'built' if stage == 'run_nothing_new' else 'skipped'} unexpectedly")
    elif stage == "apply_decision":
        detail = _apply_a_decision(config)
    elif stage == "inputs":  # the stage-by-stage run ends as `c360 run` does: recorded, for the next run to compare
        inputs = pipeline.inputs(ctx)
        summary = pipeline.RunSummary(ctx.run_id, status="succeeded", stages={"inputs": inputs})
        pipeline.record_run(ctx, summary, command="run")
        detail = inputs.summary()
    else:
        stages = dict(pipeline.default_stages())
        report = stages[stage](ctx)
        detail = report.summary() if hasattr(report, "summary") else {}
        if stage == "ingest":
            if report.failed_sources:  # numbers from a partial load would flatter every later stage
                messages = "; ".join(str(message) for message in report.messages if message.level == "error")
                raise SystemExit(f"ingest failed for {', '.join(report.failed_sources)}: {messages}")
            detail = {"rows_loaded": report.rows_loaded}
    # VmHWM is this process's own peak (ru_maxrss would carry the parent's peak across exec); children: dbt
    own = next(
        int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM")
    )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = {"peak_memory_mib": round(max(own, children) / 1024, 1), "detail": detail}
    sys.stdout.write(json.dumps(result, default=str) + "\n")  # the parent reads this line


def _run_whole(ctx: Any, sources: list[str] | None = None) -> dict[str, Any]:
    """`c360 run` (`--source` when given): every stage in this one process, recorded in meta.runs."""
    from customer360 import pipeline

    summary = pipeline.run_pipeline(ctx, pipeline.default_stages(sources=sources))
    if summary.exit_code:
        raise SystemExit(f"run {summary.status}: {summary.message}")
    resolution = summary.stages.get("resolve")
    return {
        "stage_seconds": summary.seconds,
        "nothing_new": bool(getattr(summary.stages["changes"], "nothing_new", False)),
        "rows_loaded": summary.stages["ingest"].rows_loaded,
        "identity_records": resolution.records if resolution else None,
        "identity_records_changed": resolution.records_changed if resolution else None,
        **({"marts": summary.stages["marts"].scope.summary()} if "marts" in summary.stages else {}),
        **_publish_detail(summary),
    }


def same_day_changes(config: Any, silos: Path, share: float) -> dict[str, Any]:
    """A newsletter export within the day of the data's reference time: `share` of the contacts (as the exports so
    far last had them) with a new phone number, changed at the end of that day (so the reference time stays)."""
    import pandas as pd

    from c360_devtools.demo.generator import contacts_file
    from customer360.core import warehouse

    with warehouse.session(config, read_only=True) as con:
        (reference_at,) = con.execute(
            f"select timezone('{config.time_zone}', reference_at) from staging.int_reference_time"
        ).fetchone()
    exports = sorted((silos / "marketing" / "contacts").glob("*.csv"))  # by date; the first one is in cp1252
    contacts = pd.concat(
        pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="cp1252" if n == 0 else "utf-8")
        for n, path in enumerate(exports)
    ).drop_duplicates("Kontakt-ID", keep="last")
    changed = contacts.sample(n=max(1, round(share * len(contacts))), random_state=7)
    changed["Telefon"] = [f"+49 151 {n:08d}" for n in range(len(changed))]
    changed["Letzte Änderung"] = reference_at.strftime("%d.%m.%Y 23:59")
    target = contacts_file(silos, f"{reference_at:%Y-%m-%d}-same-day")
    target.write_text(changed.to_csv(sep=";", index=False), encoding="utf-8")
    return {"contacts_changed": len(changed), "file": target.name}


def _publish_detail(summary: Any) -> dict[str, Any]:
    """How long publishing took, how many customers' index entries it rewrote (None: the index built anew) and the
    snapshot it updated (None: the marts copied whole)."""
    published = summary.stages.get("publish")
    if published is None:
        return {}
    return {
        "publish_seconds": round(published.seconds, 2),
        # until CURRENT named the new snapshot: what the console shows from then on (the Parquet export follows)
        "publish_visible_seconds": round(published.visible_seconds, 2),
        "index_changed_customers": published.index_changed_customers,
        "updated_from": published.updated_from,
    }


def _apply_a_decision(config: Any) -> dict[str, Any]:
    """What the console does after "not the same person": record the decision, then `c360 decisions apply`."""
    from customer360 import pipeline
    from customer360.core import decisions, warehouse

    with warehouse.session(config, read_only=True) as con:
        left, right = con.execute(
            "select min(record_key), max(record_key) from marts.customer_identity_map group by customer_id"
            " having count(*) = 2 order by 1 limit 1"
        ).fetchone()
    decisions.add_decision(config.state_dir, left, right, "different", "bench")
    summary = pipeline.apply_decisions(config)
    if summary.exit_code:
        raise SystemExit(f"apply {summary.status}: {summary.message}")
    return {
        "stage_seconds": summary.seconds,
        "separated": [left, right],
        "marts": summary.stages["marts"].scope.summary(),
        **_publish_detail(summary),
    }


def yardstick(config: Any) -> dict[str, Any]:
    """Bare Splink 5: library-default comparisons, the same blocking rules, default predict() and clustering."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator

    from customer360.core import warehouse
    from entity_resolution.spec import find_spec, load_spec

    spec = load_spec(find_spec(config.resolution.spec, config.root))
    with warehouse.session(config) as con:
        con.execute("create schema if not exists _yardstick")
        db_api = DuckDBAPI(connection=con, output_schema="_yardstick")
        records = db_api.register(
            con.sql(f"select {', '.join(spec.columns)} from staging.int_identity_records"),
            table_name="yardstick_records",
        )
        settings = SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name=spec.unique_id,
            comparisons=[
                cl.NameComparison("first_name_folded"),
                cl.NameComparison("last_name_folded"),
                cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
                cl.EmailComparison("email_std"),
                cl.ExactMatch("phone_e164"),
                cl.ExactMatch("postcode"),
                cl.ExactMatch("street_name_folded"),
            ],
            blocking_rules_to_generate_predictions=[
                rule
                for rule in spec.blocking_rules()
                if "reference_numbers" not in str(rule.get_blocking_rule("duckdb").blocking_rule_sql)
            ],
        )
        linker = Linker(records, settings)
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
        started = time.perf_counter()
        predictions = linker.inference.predict(threshold_match_probability=0.5)
        predicted = time.perf_counter()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=0.9
        )
        finished = time.perf_counter()
        pairs = con.execute(f"select count(*) from {predictions.physical_name}").fetchone()[0]
        customers = con.execute(f"select count(distinct cluster_id) from {clusters.physical_name}").fetchone()[0]
        con.execute("drop schema _yardstick cascade")
    return {
        "predict_seconds": round(predicted - started, 2),
        "cluster_seconds": round(finished - predicted, 2),
        "seconds": round(finished - started, 2),
        "pairs": pairs,
        "customers": customers,
    }


def hold_back(config: Any, fraction: float) -> dict[str, Any]:
    """Take a repeatable sample of identity records out of staging (they come back in `restore`)."""
    from customer360.core import warehouse

    with warehouse.session(config) as con:
        con.execute(
            f"""
            create or replace table staging._bench_held_back as
            select * from staging.int_identity_records using sample {fraction * 100:.3f} percent (bernoulli, 7);
            delete from staging.int_identity_records where record_key in (select record_key from staging._bench_held_back);
            """
        )
        held = con.execute("select count(*) from staging._bench_held_back").fetchone()[0]
    return {"held_back_records": held}


def restore(config: Any) -> dict[str, Any]:
    from customer360.core import warehouse

    with warehouse.session(config) as con:
        con.execute("insert into staging.int_identity_records select * from staging._bench_held_back")
        con.execute("drop table staging._bench_held_back")
    return {}


def run_bench(root: Path, people: int, seed: int, progress: Any = print) -> BenchResult:
    from c360_devtools.demo.generator import generate_silos
    from c360_devtools.demo.helpdesk_api import HelpdeskAPI
    from c360_devtools.demo.run import write_config
    from customer360 import pipeline
    from customer360.core.config import load_config

    root.mkdir(parents=True, exist_ok=True)
    # a full run from an empty warehouse, not a rerun that finds it all loaded
    shutil.rmtree(root / "data", ignore_errors=True)
    result = BenchResult(people=people, seed=seed, machine=machine())
    started = time.perf_counter()
    world = {"people": people, "seed": seed, "deliveries": DELIVERIES, "first_delivery": FIRST_DELIVERY}
    generated = generate_silos(root / "silos", **world, upto=DELIVERIES - 1)
    result.stages.append(StageTiming("generate", round(time.perf_counter() - started, 2), 0.0, generated.row_counts))

    with HelpdeskAPI(root / "silos" / "service") as api:
        config_path = write_config(root, root / "silos", api.base_url)
        started_at = datetime.now(UTC)
        run_started = started_at.isoformat()
        # a run id of its own per benchmark: publish reuses a snapshot its run id has published before (a retry)
        run_id = f"bench-{started_at:%Y%m%dT%H%M%S}"

        def stage(name: str, **options: Any) -> StageTiming:
            progress(f"  {name} …")
            timing = run_stage_in_child(config_path, name, f"{run_id}-{name}", run_started, **options)
            result.stages.append(timing)
            progress(f"  {name}: {timing.seconds:.1f} s, peak {timing.peak_memory_mib:,.0f} MiB")
            return timing

        for name, _ in pipeline.default_stages():
            if name == "resolve":
                stage("train")
            stage(name)
        stage("yardstick")
        stage("hold_back", fraction=0.01)
        stage("resolve_full")
        stage("restore")
        stage("resolve_incremental")
        stage("run_nothing_new")
        started = time.perf_counter()
        delivered = generate_silos(root / "silos", **world)
        result.stages.append(
            StageTiming("generate_next_delivery", round(time.perf_counter() - started, 2), 0.0, delivered.row_counts)
        )
        stage("run_next_delivery")
        result.accuracy = _accuracy(config_path, root / "silos")
        stage("apply_decision")
        started = time.perf_counter()
        written = same_day_changes(load_config(config_path), root / "silos", SAME_DAY_SHARE)
        result.stages.append(
            StageTiming("generate_same_day_delivery", round(time.perf_counter() - started, 2), 0.0, written)
        )
        stage("run_same_day_delivery")

    resolution = result.stage("resolve").seconds
    result.ratios = {
        "resolution_vs_bare_splink": round(resolution / max(result.stage("yardstick").detail["seconds"], 1e-9), 2),
        "incremental_1pct_vs_full_resolution": round(
            result.stage("resolve_incremental").seconds / max(result.stage("resolve_full").seconds, 1e-9), 3
        ),
        "peak_memory_gib": round(max(timing.peak_memory_mib for timing in result.stages) / 1024, 2),
    }
    pipeline_total = sum(t.seconds for t in result.stages if t.stage in dict(pipeline.default_stages()))
    result.ratios["validate_share_of_pipeline"] = round(result.stage("validate").seconds / pipeline_total, 3)
    next_delivery = result.stage("run_next_delivery")
    decision = result.stage("apply_decision")
    records_before = result.stage("generate").detail["labels"]
    records_new = result.stage("generate_next_delivery").detail["labels"] - records_before
    result.ratios.update(
        {
            "full_run_vs_bare_splink": round(
                pipeline_total / max(result.stage("yardstick").detail["seconds"], 1e-9), 2
            ),
            "nothing_new_vs_full_run": round(result.stage("run_nothing_new").seconds / pipeline_total, 3),
            "next_delivery_vs_full_run": round(next_delivery.seconds / pipeline_total, 3),
            # shares of the identity records the full run resolved
            "next_delivery_new_records_share": round(records_new / max(records_before, 1), 4),
            "next_delivery_changed_records_share": round(
                (next_delivery.detail["identity_records_changed"] - records_new) / max(records_before, 1), 4
            ),
            "decision_to_published_seconds": decision.seconds,
            # the served snapshot changed: the console shows the decision's outcome from then on
            "decision_to_visible_seconds": round(
                decision.seconds - decision.detail["publish_seconds"] + decision.detail["publish_visible_seconds"], 2
            ),
            "same_day_delivery_vs_full_run": round(result.stage("run_same_day_delivery").seconds / pipeline_total, 3),
            # customers whose marts it wrote anew (None: a full build)
            "same_day_delivery_marts_customers": result.stage("run_same_day_delivery").detail["marts"]["customers"],
        }
    )
    result.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def _accuracy(config_path: Path, silos: Path) -> dict[str, float]:
    """Pairwise precision, recall and F1 against the generator's labels, and the households merged."""
    from c360_devtools.accuracy import Project, households_merged, scores, truth_tables
    from customer360.core import warehouse
    from customer360.core.config import load_config
    from entity_resolution.evaluate import evaluate

    config = load_config(config_path)
    project = Project(config_path, silos / "labels.csv", silos / "kinds.csv", silos / "households.csv")
    with warehouse.session(config, read_only=True) as con:
        evaluation = evaluate(con, project.labels)
        truth_tables(con, project)
        merged = households_merged(con)
    return {**scores(evaluation), **merged}


def save(result: BenchResult, path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(result), indent=2, default=str) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "stage":
        _stage_main(*sys.argv[2:])
    else:
        raise SystemExit("usage: python -m c360_devtools.bench stage CONFIG STAGE RUN_ID STARTED_AT OPTIONS_JSON")
