"""The accuracy report of `c360 bench-accuracy` (c360_devtools.accuracy) as the docs show it: the section between
the markers of docs/entity-resolution.md is rewritten from a report, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from c360_devtools.accuracy import BEGIN, DOCS, END


def test_the_docs_have_an_accuracy_section() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1 and text.index(BEGIN) < text.index(END)


def test_the_docs_section_is_written_from_a_report(tmp_path: Path) -> None:
    from c360_devtools.accuracy import write_docs

    report = {
        "options": {
            "demo_people": 10,
            "demo_seed": 1,
            "strangers_people": 10,
            "strangers_seed": 2,
            "strangers_variety": True,
        },
        "machine": {"cores": 2, "splink": "5", "duckdb": "1.5"},
        "code": {"commit": "abc1234", "uncommitted_changes": []},
        "finished_at": "2026-12-01T00:00:00+00:00",
        "datasets": [
            {
                "name": "demo",
                "title": "demo (Kaufhaus Nord)",
                "spec": "customer-v4",
                "threshold": 0.9,
                "records": 12,
                "true_people": 10,
                "customers": 11,
                "precision": 1.0,
                "recall": 0.5,
                "f1": 0.6667,
                "false_merge_pairs": 0,
                "households_merged": 0,
                "resolve_seconds": 1.0,
                "missed_by_evidence": [{"evidence": "same e-mail", "true_pairs": 2, "missed_pairs": 1}],
                "missed_by_kind": [
                    {"kind": "initial", "true_pairs": 2, "missed_pairs": 1, "recall": 0.5, "missed_by_evidence": {}}
                ],
                "sweep": [
                    {"threshold": 0.5, "precision": 0.99, "recall": 0.75, "households_merged": 1},
                    {"threshold": 0.9, "precision": 1.0, "recall": 0.5, "households_merged": 0},
                ],
            }
        ],
    }
    doc = tmp_path / "doc.md"
    doc.write_text(f"# title\n\nbefore\n\n{BEGIN}\nold\n{END}\n\nafter\n", encoding="utf-8")
    write_docs(report, doc)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# title\n\nbefore\n\n") and text.endswith("\n\nafter\n") and "\nold\n" not in text
    assert "| demo (Kaufhaus Nord) | customer-v4, 0.9 | 12 | 10 | 11 | 1.0000 | 0.5000 |" in text
    assert "| initial | 1 / 2 (0.5000; 0/0/0/0/0/0) |" in text
    assert (
        "| data set | 0.5 | 0.9 |" in text
        and "| demo (Kaufhaus Nord) | 0.9900 / 0.7500, 1 | 1.0000 / 0.5000, 0 |" in text
    )


@pytest.mark.parametrize(
    ("threshold", "says"),
    [("0.4", "0.4: input should be greater than or equal to 0.5"), ("1", "1.0: input should be less than 1")],
)
def test_a_sweep_threshold_a_project_could_not_configure_is_refused(threshold: str, says: str) -> None:
    from typer.testing import CliRunner

    from customer360.cli import app

    outcome = CliRunner().invoke(app, ["bench-accuracy", "--sweep", threshold, "--no-save"], env={"COLUMNS": "200"})
    assert outcome.exit_code == 2 and says in outcome.output, outcome.output
