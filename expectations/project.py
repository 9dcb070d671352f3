"""A project's own suite modules, loaded by path (`tables.<t>.suite: suites/tickets.py`, relative to the
configuration file), never by a global name: two projects on one machine never see each other's modules.

The contract: the module defines `build(suite, ctx)`, which adds expectations to the suite the product built
for the batch (the generic checks and the configuration's rules), with the helpers of `expectations.kit`:

    from expectations.kit import SuiteContext, quarantine, ...

    def build(suite, ctx: SuiteContext) -> None:
        ...

A module that cannot be imported, has no such `build`, or raises while building is a `SuiteError` that names
the file (and the line), never a traceback: the gate stops before it records anything for the batch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from customer360.core.config import Config, TableConfig
from customer360.core.errors import C360Error

MODULE_PREFIX = "c360_project_suite"


class SuiteError(C360Error):
    """A project's suite module is broken: the message names the file and what to fix."""


@dataclass(frozen=True)
class ProjectSuite:
    path: Path  # absolute
    label: str  # as the configuration wrote it, e.g. suites/tickets.py
    module: ModuleType

    def build(self, suite: Any, ctx: Any) -> None:
        """Let the module add its expectations; any failure becomes a SuiteError naming the file."""
        try:
            self.module.build(suite, ctx)
        except Exception as error:  # noqa: BLE001 - user code: reported with its file and line
            raise SuiteError(
                f"{self.path}: build(suite, ctx) failed for {ctx.name}{_line(error, self.path)}: "
                f"{type(error).__name__}: {error}"
            ) from error


_loaded: dict[Path, tuple[tuple[int, int], ModuleType]] = {}  # absolute path -> (file version, module)


def module_name(path: Path) -> str:
    """A module name unique per absolute path: `c360_project_suite_<stem>_<hash of the path>`."""
    digest = hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:16]
    stem = re.sub(r"\W", "_", path.stem)
    return f"{MODULE_PREFIX}_{stem}_{digest}"


def suite_path(config: Config, table: TableConfig) -> Path | None:
    return config.resolve_path(table.suite).resolve() if table.suite else None


def for_table(config: Config | None, table: TableConfig | None) -> ProjectSuite | None:
    """The project module of a configured table (None when it names none)."""
    if config is None or table is None or not table.suite:
        return None
    path = suite_path(config, table)
    assert path is not None
    return load(path, table.suite)


def load(path: Path, label: str | None = None) -> ProjectSuite:
    """Import the module at `path` (again when the file changed since)."""
    path = path.resolve()
    try:
        stat = path.stat()
    except OSError as error:
        raise SuiteError(f"{path}: the suite module cannot be read ({error.strerror or error})") from None
    version = (stat.st_mtime_ns, stat.st_size)
    known = _loaded.get(path)
    if known is not None and known[0] == version:
        return ProjectSuite(path, label or str(path), known[1])
    name = module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SuiteError(f"{path}: not a Python module (a suite module is a .py file)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # for dataclasses, pickling and tracebacks; the name is unique to the path
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - user code: reported with its file and line
        sys.modules.pop(name, None)
        raise SuiteError(
            f"{path}: the suite module cannot be imported{_line(error, path)}: {type(error).__name__}: {error}"
        ) from error
    _check_contract(module, path)
    _loaded[path] = (version, module)
    return ProjectSuite(path, label or str(path), module)


def _check_contract(module: ModuleType, path: Path) -> None:
    build: Callable[..., Any] | None = getattr(module, "build", None)
    if not callable(build):
        raise SuiteError(
            f"{path}: defines no function build(suite, ctx); a suite module adds its expectations to the suite "
            "the product built (see docs/quality.md, 'A project's own suite')"
        )
    try:
        inspect.signature(build).bind(None, None)
    except TypeError:
        raise SuiteError(
            f"{path}: build{inspect.signature(build)} must take (suite, ctx): it adds expectations to the suite "
            "the product built instead of returning a new one"
        ) from None
    except ValueError:  # no signature to inspect (a builtin): trust it
        return


def _line(error: BaseException, path: Path) -> str:
    """`, line N` of the deepest frame of the traceback in `path` (or where a SyntaxError points)."""
    if isinstance(error, SyntaxError) and error.lineno and error.filename and Path(error.filename) == path:
        return f", line {error.lineno}"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename and Path(f.filename) == path]
    return f", line {frames[-1].lineno}" if frames else ""
