"""The README's commands after `make demo` run as written — on the session's demo pipeline (the same project,
copied to a temp folder, so the test does not write into examples/). `c360 serve` is left out: it runs until
stopped, and the console tests start it for real."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
DEMO = "examples/kaufhaus-nord"

pytestmark = pytest.mark.integration


def block_after(heading: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    body = re.search(r"```bash\n(.*?)```", section, re.S)
    assert body, heading
    return [line.split("#", 1)[0].strip() for line in body.group(1).splitlines() if line.split("#", 1)[0].strip()]


def test_the_commands_after_the_demo_run_as_written(demo_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    commands = block_after("## After the demo")
    assert commands[0] == "source .venv/bin/activate"
    env = {key: value for key, value in os.environ.items() if not key.startswith("C360_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    demo = demo_pipeline.root
    ran = 0
    for command in commands[1:]:
        command = command.replace(f"{DEMO}/data/silos/labels.csv", str(demo_pipeline.labels))
        if command.startswith("export "):
            name, value = command.removeprefix("export ").split("=", 1)
            env[name] = value.replace(f"{DEMO}/customer360.yml", str(demo / "customer360.yml"))
            continue
        if command.startswith("c360 serve"):
            continue
        command = command.replace("C000000042", "C000000001")  # an ID the demo run has
        done = subprocess.run(shlex.split(command), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        ran += 1
    assert ran >= 4
