"""docs/bring-your-own-silos.md, executed as written: its shell commands run in order in a fresh folder, the files
it shows are written where it says, and its source block is added under `sources:` — then the outcome it
promises is checked on the real marts."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from customer360.core.config import load_config

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "bring-your-own-silos.md"
BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def guide_steps(text: str) -> list[tuple[str, str | None, str]]:
    """(kind, argument, body) per fenced block: ('bash', None, commands), ('file', path, content) for a block
    after `<!-- guide-file: path -->`, ('source', name, yaml) after `<!-- guide-source: name -->`."""
    steps = []
    for match in re.finditer(r"(?:<!-- guide-(file|source): (\S+) -->\n)?```(\w+)\n(.*?)```", text, re.S):
        marker, argument, language, body = match.groups()
        if marker:
            steps.append((marker, argument, body))
        elif language == "bash":
            steps.append(("bash", None, body))
    return steps


def test_the_guide_runs_as_written(tmp_path: Path) -> None:
    steps = guide_steps(GUIDE.read_text(encoding="utf-8"))
    assert [kind for kind, _, _ in steps].count("source") == 1
    env = {key: value for key, value in os.environ.items() if key != "C360_CONFIG"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    project = tmp_path / "my-project"
    outputs = []
    for kind, argument, body in steps:
        if kind == "file":
            (project / argument).write_text(body, encoding="utf-8")
        elif kind == "source":
            config = project / "customer360.yml"
            assert config.read_text(encoding="utf-8").rstrip().splitlines()[-1].startswith(" "), "sources: is last"
            config.write_text(config.read_text(encoding="utf-8").rstrip() + "\n" + body, encoding="utf-8")
        else:
            for line in body.splitlines():
                command = line.split("#", 1)[0].strip()
                if not command:
                    continue
                done = subprocess.run(
                    shlex.split(command), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
                )
                assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
                outputs.append((command, done.stdout))

    assert any("Lovelace" in out for command, out in outputs if "lookup" in command and "ada" in command)
    assert any("Turing" in out for command, out in outputs if "lookup" in command and "alan" in command)
    config = load_config(project / "customer360.yml")
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        tickets = con.execute(
            "select ticket_id, customer_id, is_open, is_complaint, csat_score from marts.fct_tickets order by 1"
        ).fetchall()
        ada = con.execute(
            "select customer_id, open_ticket_count, order_count from marts.customer_360 where last_name = 'Lovelace'"
        ).fetchall()
        alan = con.execute(
            "select has_recent_bad_experience, next_best_action_code from marts.customer_360 where last_name = 'Turing'"
        ).fetchall()
        timeline = con.execute(
            "select count(*) from marts.fct_touchpoints where kind = 'ticket' and customer_id is not null"
        ).fetchone()[0]
    assert [(t[0], t[2], t[3], t[4]) for t in tickets] == [("T-1", True, False, None), ("T-2", False, True, 2.0)]
    # the requester R-77 joined Ada's customer: one customer with her orders and her open ticket
    assert len(ada) == 1 and ada[0][1] == 1 and ada[0][2] == 2
    assert tickets[0][1] == ada[0][0]
    assert alan == [(True, "recover_bad_experience")]
    assert timeline == 2
