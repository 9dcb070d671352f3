"""The Great Expectations side of the gate: an ephemeral context created when the gate runs (never at import),
a pandas datasource fed with one batch at a time, validation results and Data Docs on disk.

    <data_dir>/reports/quality/docs/index.html     Data Docs (HTML), updated by every run that checks
    <data_dir>/reports/quality/validations/        GX validation results (JSON), one per batch and run
    <data_dir>/reports/quality/runs/<run_id>.json  the gate's own summary of a run

Suites are built in code for every batch (expectations/suites.py), so the context keeps them in memory; only
results and docs are written. Why pandas and not GX's SQL datasource on the DuckDB file: that needs the `duckdb-engine` SQLAlchemy
dialect, which is not a dependency (yet). The frame holds only the batch being checked, built by DuckDB
(derived columns included), and the rows to quarantine are selected in SQL (expectations/sql.py), so pandas
never loops over rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path
from typing import Any

from customer360.core.config import Config

log = logging.getLogger(__name__)

DOCS_SITE = "quality"
RESULTS_LIMIT = 500  # validation results listed in the Data Docs index


def quality_dir(config: Config) -> Path:
    return config.reports_dir / "quality"


def docs_index(config: Config) -> Path:
    return quality_dir(config) / "docs" / "index.html"


class GxSession:
    """One GX context for one gate run."""

    def __init__(self, root: Path) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every pandas batch with an md5 over all its values (a "batch marker" nobody here
        # reads);
        # on a million rows that is a sixth of the validation time. A threshold of 0 skips it.
        pandas_execution_engine.HASH_THRESHOLD = 0  # type: ignore[attr-defined]
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        defaults = InMemoryStoreBackendDefaults()
        stores = dict(defaults.stores)
        stores[defaults.validation_results_store_name] = {
            "class_name": "ValidationResultsStore",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(root / "validations"),
            },
        }
        config = DataContextConfig(
            stores=stores,
            expectations_store_name=defaults.expectations_store_name,
            validation_results_store_name=defaults.validation_results_store_name,
            checkpoint_store_name=defaults.checkpoint_store_name,
            data_docs_sites={
                DOCS_SITE: {
                    "class_name": "SiteBuilder",
                    "show_how_to_buttons": False,
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(root / "docs"),
                    },
                    "site_index_builder": {
                        "class_name": "DefaultSiteIndexBuilder",
                        "validation_results_limit": RESULTS_LIMIT,
                    },
                }
            },
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        )
        self._gx = gx
        self.context = gx.get_context(project_config=config, mode="ephemeral")
        self.datasource = self.context.data_sources.add_pandas("warehouse")
        self._batch_definitions: dict[str, Any] = {}
        self._identifiers: list[Any] = []

    def _batch_definition(self, asset_name: str) -> Any:
        if asset_name not in self._batch_definitions:
            asset = self.datasource.add_dataframe_asset(asset_name)
            self._batch_definitions[asset_name] = asset.add_batch_definition_whole_dataframe("batch")
        return self._batch_definitions[asset_name]

    def validate(self, suite: Any, frame: Any, run_name: str) -> Any:
        """Validate one frame against one suite; the result is stored for Data Docs."""
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        gx = self._gx
        asset_name = suite.name
        batch_definition = self._batch_definition(asset_name)
        stored = self.context.suites.add_or_update(suite)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", asset_name)
        definition = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=stored)
        )
        run_id = RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "BASIC", "partial_unexpected_count": 10},
            run_id=run_id,
        )
        # GX keeps every asset's last frame in its engine's batch cache: drop it, or the largest batch of each
        # table stays in memory for the rest of the run
        batches = self.datasource.get_execution_engine().batch_manager
        batches.batch_data_cache.clear()
        batches.reset_batch_cache()
        suite_id = ExpectationSuiteIdentifier(name=stored.name)
        self._identifiers.append(suite_id)
        self._identifiers.append(
            ValidationResultIdentifier(
                expectation_suite_identifier=suite_id,
                run_id=run_id,
                batch_identifier=f"{self.datasource.name}-{asset_name}",
            )
        )
        return result

    def build_docs(self) -> Path:
        """Render this run's results (and the suites) into the Data Docs site; returns index.html."""
        if self._identifiers:
            self.context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=self._identifiers)
        return self.root / "docs" / "index.html"
