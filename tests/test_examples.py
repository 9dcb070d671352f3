"""The projects under examples/ and the one `c360 init` scaffolds run as their READMEs say, end to end, with the
real pipeline: FEBRL4 (a public benchmark, configuration only) and a fresh `c360 init` project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from customer360.core.config import load_config

REPO = Path(__file__).resolve().parents[1]
FEBRL4 = REPO / "examples" / "febrl4"
C360 = str(Path(sys.executable).parent / "c360")

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def c360(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "C360_CONFIG"}
    return subprocess.run([C360, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=900)


def test_febrl4_runs_through_the_normal_pipeline_with_its_documented_accuracy(tmp_path: Path) -> None:
    """examples/febrl4/README.md: export, `c360 run`, `c360 evaluate` — exit 0, no false merge and F1 at least
    0.998 (issue 14's target; measured 0.9989 with the threshold the review loop recommends)."""
    import importlib.util

    project = tmp_path / "febrl4"
    project.mkdir()
    for name in ("customer360.yml", "febrl4.yml"):
        shutil.copy2(FEBRL4 / name, project / name)
    spec = importlib.util.spec_from_file_location("export_febrl4", FEBRL4 / "export_febrl4.py")
    assert spec and spec.loader
    exporter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exporter)
    exporter.export(project / "data")

    run = c360("run", "--config", str(project / "customer360.yml"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    evaluation = c360(
        "evaluate", "--config", str(project / "customer360.yml"), "--labels", str(project / "data/labels.csv")
    )
    assert evaluation.returncode == 0, evaluation.stderr
    from entity_resolution.evaluate import evaluate

    config = load_config(project / "customer360.yml")
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        result = evaluate(con, project / "data" / "labels.csv")
    assert result.precision >= 0.999
    assert result.f1 >= 0.998
    assert result.records_scored == 10_000


def test_a_new_project_from_c360_init_runs_as_scaffolded(tmp_path: Path) -> None:
    """`c360 init DIR` then `c360 run --config DIR/customer360.yml`: the example's two shop accounts of Ada
    Lovelace become one customer, the orders (named by customer number) reach the timeline and her KPIs, and
    `c360 lookup` finds her."""
    project = tmp_path / "my-project"
    init = c360("init", str(project))
    assert init.returncode == 0, init.stderr
    for name in ("customer360.yml", "README.md", "rules/next_best_action.yml", "silos/customers.csv"):
        assert (project / name).is_file(), name
    assert c360("init", str(project)).returncode == 2  # never over an existing project

    run = c360("run", "--config", str(project / "customer360.yml"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    config = load_config(project / "customer360.yml")
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        customers = con.execute("select count(*) from marts.dim_customer").fetchone()[0]
        ada = con.execute(
            "select customer_id, order_count, lifetime_value, newsletter_consent_status from marts.customer_360 "
            "where first_name = 'Ada'"
        ).fetchall()
        touchpoints = con.execute("select count(*) from marts.fct_touchpoints where kind = 'order'").fetchone()[0]
        actions = con.execute("select count(*) from marts.next_best_action").fetchone()[0]
        pairs = con.execute(
            "select list(distinct first_name_std order by first_name_std) from marts.customer_identity_map"
            " join staging.int_identity_records using (record_key) group by customer_id having count(*) = 2"
        ).fetchall()
    # 24 shop accounts; Ada's two are one customer, and so are Katharina Schulte's and Mehmet Yilmaz's (Yılmaz): the
    # same phone, birth date and postcode under another e-mail address
    assert customers == 21 and sorted(names for (names,) in pairs) == [["Ada"], ["Katharina"], ["Mehmet"]]
    assert len(ada) == 1 and ada[0][1] == 2 and float(ada[0][2]) == pytest.approx(169.90)
    assert ada[0][3] == "opted_out"  # her later account said no
    assert touchpoints == 10
    assert actions == customers
    lookup = c360("lookup", "--config", str(project / "customer360.yml"), "ada lovelace", "--first")
    assert lookup.returncode == 0, lookup.stderr
    assert "Lovelace" in lookup.stdout
