"""Training and the trained-model artefact.

Training is a deliberate step (`c360 train`), not part of the scheduled run: it estimates the Splink parameters
on the current identity records, clamps m-probabilities where the spec's domain knowledge says EM was fooled
(households, twins), freezes the term-frequency tables, and writes a versioned model folder:

    <model_dir>/<spec key>/<model id>/settings.json     Splink's own model file (comparisons, m, u, prior)
                                      tf_<column>.parquet term-frequency tables used for every later prediction
                                      training.json       what was estimated, clamped or skipped, and why
    <model_dir>/<spec key>/current                      the model id in use

Predictions always use the frozen term-frequency tables, so a full run and an incremental run score a pair
identically.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from customer360.core.errors import C360Error, StageFailed
from entity_resolution.spec import ModelSpec

log = logging.getLogger(__name__)

WORK_SCHEMA = "_splink_work"
MIN_EM_PAIRS = 200


class ModelNotTrained(C360Error):
    """No trained model exists for the spec: run `c360 train` (the first `c360 run` trains automatically)."""


@dataclass(frozen=True)
class TrainedModel:
    spec: ModelSpec
    folder: Path

    @property
    def model_id(self) -> str:
        return self.folder.name

    @property
    def settings(self) -> dict[str, Any]:
        return json.loads((self.folder / "settings.json").read_text(encoding="utf-8"))

    @property
    def training_report(self) -> dict[str, Any]:
        return json.loads((self.folder / "training.json").read_text(encoding="utf-8"))

    def tf_table_path(self, column: str) -> Path:
        return self.folder / f"tf_{column}.parquet"


def splink_api(con: duckdb.DuckDBPyConnection) -> Any:
    """Splink's DuckDB API on the warehouse connection; its working tables go to a scratch schema."""
    from splink import DuckDBAPI

    con.execute(f"create schema if not exists {WORK_SCHEMA}")
    return DuckDBAPI(connection=con, output_schema=WORK_SCHEMA)


def drop_work_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"drop schema if exists {WORK_SCHEMA} cascade")


def model_root(model_dir: Path, spec: ModelSpec) -> Path:
    return model_dir / spec.key


def current_model(model_dir: Path, spec: ModelSpec) -> TrainedModel:
    pointer = model_root(model_dir, spec) / "current"
    if not pointer.is_file():
        raise ModelNotTrained(
            f"no trained model for spec {spec.key} in {model_root(model_dir, spec)}: run `c360 train`"
        )
    folder = model_root(model_dir, spec) / pointer.read_text(encoding="utf-8").strip()
    if not (folder / "settings.json").is_file():
        raise ModelNotTrained(f"model folder {folder} is incomplete: run `c360 train` again")
    return TrainedModel(spec, folder)


def train(con: duckdb.DuckDBPyConnection, records_table: str, spec: ModelSpec, model_dir: Path) -> TrainedModel:
    """Estimate the model on `records_table` and save it as the current model for the spec."""
    from splink import Linker
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    report: dict[str, Any] = {"spec": spec.key, "records": con.table(records_table).count("*").fetchone()[0]}
    if report["records"] < 2:  # Splink would divide by the zero pairs there are
        raise StageFailed(
            f"{records_table} holds {report['records']} identity record(s): too few to train a model on. Load "
            "the sources first (`c360 run` ingests them; under Airflow the ingest_<source> DAGs run before "
            "customer_360), and check that the identity mappings of customer360.yml select rows."
        )
    db_api = splink_api(con)
    records = db_api.register(con.table(records_table).select(*spec.columns), dataset_display_name="identity_records")
    linker = Linker(records, spec.settings())
    training = spec.training
    linker.training.estimate_probability_two_random_records_match(
        spec.training_rules("deterministic_rules"), recall=float(training.get("deterministic_recall", 0.7))
    )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=float(training.get("u_max_pairs", 5e6)), seed=int(training.get("seed", 42))
    )

    report["blocking"] = blocking_analysis(records, spec, report["records"])

    sessions = []
    for rule in spec.training_rules("em_blocking_rules"):
        rule_sql = rule.get_blocking_rule("duckdb").blocking_rule_sql
        pairs = count_comparisons_from_blocking_rules(
            records,
            blocking_rules=rule,
            link_type=spec.raw.get("link_type", "dedupe_only"),
            unique_id_column_name=spec.unique_id,
            record_sample_proportion=1.0,
        )[0]["marginal_comparison_count"]
        if pairs < MIN_EM_PAIRS:
            sessions.append({"blocking_rule": rule_sql, "pairs": pairs, "skipped": f"fewer than {MIN_EM_PAIRS} pairs"})
            continue
        linker.training.estimate_parameters_using_expectation_maximisation(rule, fix_u_probabilities=True)
        sessions.append({"blocking_rule": rule_sql, "pairs": pairs})
    report["em_sessions"] = sessions

    settings = linker.misc.save_model_to_json()
    report["clamped"] = _clamp_m_probabilities(settings, spec.m_limits())
    report["u_corrected"] = _correct_u_for_matches(settings, training.get("u_correction"))
    record_count = int(report["records"])
    sampled_pairs = min(float(training.get("u_max_pairs", 5e6)), record_count * (record_count - 1) / 2)
    report["u_bounded"] = _bound_unobserved_u(settings, sampled_pairs)
    report["m_u"] = _parameter_table(settings)

    model_id = spec.key + "-" + hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    folder = model_root(model_dir, spec) / model_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    for column in spec.tf_columns():
        tf_table = linker.table_management.compute_tf_table(column)
        con.execute(
            f"copy (select * from {tf_table.physical_name}) to '{folder / f'tf_{column}.parquet'}' (format parquet)"
        )
    (folder / "training.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    (model_root(model_dir, spec) / "current").write_text(model_id, encoding="utf-8")
    drop_work_schema(con)
    log.info("trained model %s on %s records", model_id, report["records"])
    return TrainedModel(spec, folder)


def blocking_analysis(records: Any, spec: ModelSpec, record_count: int) -> list[dict[str, Any]]:
    """Splink's blocking analysis of the prediction rules: comparisons each rule adds, and its largest blocks.

    A rule whose largest block is huge (a default value, a very common name) makes prediction slow and is worth
    tightening; the report shows it before it hurts a scheduled run.
    """
    from splink.blocking_analysis import count_comparisons_from_blocking_rules, n_largest_blocks

    link_type = spec.raw.get("link_type", "dedupe_only")
    # exact counts are cheap on small data; on large data a 10% sample per side estimates them
    proportion = 1.0 if record_count <= 200_000 else 0.1
    counts = count_comparisons_from_blocking_rules(
        records,
        blocking_rules=spec.blocking_rules(),
        link_type=link_type,
        unique_id_column_name=spec.unique_id,
        record_sample_proportion=proportion,
    )
    analysis = []
    for rule, count in zip(spec.blocking_rules(), counts, strict=True):
        entry = {
            "blocking_rule": count["blocking_rule"],
            "new_comparisons": int(count["marginal_comparison_count"]),
            "cumulative_comparisons": int(count["cumulative_comparison_count"]),
            "is_estimate": bool(count["is_estimate"]),
        }
        if not rule.get_blocking_rule("duckdb").__class__.__name__.startswith(
            "Exploding"
        ):  # no block sizes for list rules
            largest = n_largest_blocks(records, blocking_rule=rule, link_type=link_type, n_largest=3).as_record_list()
            entry["largest_blocks"] = [int(block["block_count"]) for block in largest]
        analysis.append(entry)
    return analysis


def _clamp_m_probabilities(settings: dict[str, Any], limits: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """Apply the spec's m-limits to the trained settings; renormalise the level's siblings. Returns what changed."""
    changes = []
    for comparison in settings["comparisons"]:
        comparison_limits = limits.get(comparison["output_column_name"], {})
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        for level in levels:
            limit = comparison_limits.get(level.get("label_for_charts", ""))
            m = level.get("m_probability")
            if limit is None or m is None or m <= limit:
                continue
            others = [other for other in levels if other is not level and other.get("m_probability")]
            rest = sum(other["m_probability"] for other in others)
            level["m_probability"] = limit
            for other in others:
                other["m_probability"] = other["m_probability"] * (1 - limit) / rest
            changes.append(
                {
                    "comparison": comparison["output_column_name"],
                    "level": level["label_for_charts"],
                    "learned_m": m,
                    "clamped_to": limit,
                }
            )
    return changes


def _correct_u_for_matches(settings: dict[str, Any], correction: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Take the true matches out of the u-probabilities.

    u is estimated on random record pairs, and some of them are the same person: with prior λ (the probability
    that two random records match), P(level | random pair) = λ·m + (1 − λ)·u. For a strong identifier that only
    matches share (a personal e-mail address), nearly every random pair at the level is a match, so the raw
    estimate is about λ·m and the evidence cancels the prior exactly: "same e-mail" alone would say 50 %, whatever
    the data's size. Solving for u removes that; `floor_ratio` keeps u at least that share of the raw estimate, so
    a level can never become more than log2(1 / floor_ratio) bits stronger than its raw estimate. Returns what
    changed (for the training report)."""
    if not correction:
        return []
    floor_ratio = float(correction.get("floor_ratio", 0.05))
    prior = float(settings["probability_two_random_records_match"])
    changes = []
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if level.get("is_null_level") or not m or not u:
                continue
            corrected = max((u - prior * m) / (1 - prior), u * floor_ratio)
            if corrected < u * 0.999:
                level["u_probability"] = corrected
                changes.append(
                    {
                        "comparison": comparison["output_column_name"],
                        "level": level.get("label_for_charts"),
                        "estimated_u": u,
                        "corrected_u": corrected,
                    }
                )
    return changes


def _bound_unobserved_u(settings: dict[str, Any], sampled_pairs: float) -> list[dict[str, Any]]:
    """Give a level that no random pair showed the u its absence proves: with none among n random pairs, u < 3/n
    (95 %, the rule of three). Left unset, Splink falls back to a generic default (about 1/1000 for an exact
    match), which on a million records makes "same e-mail address" nearly worthless: at that size a random sample
    of millions of pairs holds no two records with one e-mail address. Returns what was set."""
    bound = 3.0 / max(sampled_pairs, 3.0)
    changes = []
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level") or level.get("u_probability") is not None:
                continue
            level["u_probability"] = bound
            changes.append(
                {"comparison": comparison["output_column_name"], "level": level.get("label_for_charts"), "u": bound}
            )
    return changes


def _parameter_table(settings: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            rows.append(
                {
                    "comparison": comparison["output_column_name"],
                    "level": level.get("label_for_charts"),
                    "m": level.get("m_probability"),
                    "u": level.get("u_probability"),
                }
            )
    return rows


def load_linker(con: duckdb.DuckDBPyConnection, model: TrainedModel, records: Any, db_api: Any) -> Any:
    """A Splink linker with the trained parameters and the frozen term-frequency tables registered."""
    from splink import Linker

    linker = Linker(records, model.settings)
    for column in model.spec.tf_columns():
        table = f"frozen_tf_{column}_data"  # a temp table: read once per run, never written to the warehouse file
        con.execute(
            f"create or replace temp table {table} as select * from read_parquet('{model.tf_table_path(column)}')"
        )
        linker.table_management.register_term_frequency_lookup(
            db_api.register(con.table(table), table_name=f"frozen_tf_{column}"), column
        )
    return linker


def save_model_version(base: TrainedModel, settings: dict[str, Any], report: dict[str, Any]) -> TrainedModel:
    """Save re-estimated settings as a new version of `base`'s spec and make it current: the same folder layout as
    `train` (settings.json, training.json), with base's frozen term-frequency tables copied, so the new version
    scores exactly like base except for its parameters. The model id comes from the settings, as in `train`."""
    import shutil

    model_id = base.spec.key + "-" + hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    folder = base.folder.parent / model_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    for column in base.spec.tf_columns():
        if base.tf_table_path(column) != folder / f"tf_{column}.parquet":
            shutil.copyfile(base.tf_table_path(column), folder / f"tf_{column}.parquet")
    (folder / "training.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    (base.folder.parent / "current").write_text(model_id, encoding="utf-8")
    log.info("saved model %s (from %s) as the current model", model_id, base.model_id)
    return TrainedModel(base.spec, folder)
