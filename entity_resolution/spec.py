"""The model spec (entity_resolution/specs/*.yml) turned into Splink 5 settings.

The spec is data: comparisons are lists of Splink comparison-level library classes with their arguments, blocking
rules are column lists (`block_on`) or SQL. This module is the only place that translates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from customer360.core.errors import C360Error

SPEC_DIR = Path(__file__).resolve().parent / "specs"


class SpecError(C360Error):
    """The model spec is invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class GuardRule:
    name: str
    reason: str
    sql: str  # a condition over l.<column> and r.<column>


@dataclass(frozen=True)
class ModelSpec:
    path: Path
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.raw["name"])

    @property
    def version(self) -> int:
        return int(self.raw["version"])

    @property
    def key(self) -> str:
        """`customer-v1`: trained models are stored and matched by this key."""
        return f"{self.name}-v{self.version}"

    @property
    def unique_id(self) -> str:
        return str(self.raw.get("unique_id_column_name", "record_key"))

    @property
    def columns(self) -> list[str]:
        return list(self.raw["columns"])

    @property
    def training(self) -> dict[str, Any]:
        return dict(self.raw.get("training", {}))

    @property
    def cannot_link_rules(self) -> list[GuardRule]:
        """Pairs that may never be in one cluster (SQL over l.<column>, r.<column> is true)."""
        return self._guard_rules("cannot_link")

    @property
    def link_requirements(self) -> list[GuardRule]:
        """What a scored pair must also show to become a link (SQL over l.<column>, r.<column> must be true)."""
        return self._guard_rules("link_requires")

    def _guard_rules(self, key: str) -> list[GuardRule]:
        rules = self.raw.get("guard_rails", {}).get(key, [])
        return [
            GuardRule(rule["name"], rule.get("reason", rule["name"]), " ".join(rule["sql"].split())) for rule in rules
        ]

    def tf_columns(self) -> list[str]:
        """Columns with term-frequency adjustments: their frequency tables are frozen with the trained model."""
        columns = []
        for comparison in self.raw["comparisons"]:
            for level in comparison["levels"]:
                _, args = _level_entry(level)
                if (
                    isinstance(args, dict)
                    and args.get("term_frequency_adjustments")
                    and args["col_name"] not in columns
                ):
                    columns.append(args["col_name"])
        return columns

    def comparisons(self) -> list[Any]:
        import splink.comparison_level_library as cll
        import splink.comparison_library as cl

        built = []
        for comparison in self.raw["comparisons"]:
            name = comparison["output_column_name"]
            levels = []
            for position, level in enumerate(comparison["levels"]):
                class_name, args = _level_entry(level)
                if class_name == "sql":
                    class_name, args = "CustomLevel", {"sql_condition": args}
                level_class = getattr(cll, class_name, None)
                if level_class is None:
                    raise SpecError(
                        f"{self.path}: comparison '{name}' level {position + 1}: no Splink level '{class_name}'"
                    )
                arguments = {
                    key: " ".join(value.split()) if key == "sql_condition" else value for key, value in args.items()
                }
                try:
                    created = level_class(**arguments)
                except TypeError as error:
                    raise SpecError(
                        f"{self.path}: comparison '{name}' level {position + 1} ({class_name}): {error}"
                    ) from None
                if level.get("configure"):
                    created = created.configure(**level["configure"])
                levels.append(created)
            built.append(
                cl.CustomComparison(
                    output_column_name=name,
                    comparison_levels=levels,
                    comparison_description=comparison.get("description", name),
                )
            )
        return built

    def blocking_rules(self, key: str = "blocking_rules_to_generate_predictions") -> list[Any]:
        return [blocking_rule(rule) for rule in self.raw[key]]

    def blocking_partners_sql(self, changed: str, records: str) -> str:
        """The records of `records` (not in `changed`) that share a blocking key with a record of `changed`: the
        only ones the prediction blocking rules can pair with them. Handing Splink just these makes scoring a few
        new records against millions cheaper, with the same pairs."""
        uid = _quoted(self.unique_id)
        keys = []
        for rule in self.raw["blocking_rules_to_generate_predictions"]:
            if isinstance(rule, list):
                columns = ", ".join(_quoted(column) for column in rule)
                keys.append(f"select {uid} from {records} semi join {changed} using ({columns})")
            elif "sql" in rule:
                condition = " ".join(rule["sql"].split())
                keys.append(f"select r.{uid} from {records} as r semi join {changed} as l on {condition}")
            else:  # explode: records sharing an element of the list
                column = _quoted(rule["explode"])
                keys.append(
                    f"select {uid} from (select {uid}, unnest({column}) as element from {records}) "
                    f"semi join (select unnest({column}) as element from {changed}) using (element)"
                )
        return (
            f"select r.* from {records} as r semi join ({' union '.join(keys)}) using ({uid}) "
            f"anti join {changed} using ({uid})"
        )

    def training_rules(self, key: str) -> list[Any]:
        return [blocking_rule(rule) for rule in self.training.get(key, [])]

    def settings(self) -> Any:
        """A Splink SettingsCreator: comparisons, prediction blocking rules, term-frequency columns retained."""
        from splink import SettingsCreator

        return SettingsCreator(
            link_type=self.raw.get("link_type", "dedupe_only"),
            unique_id_column_name=self.unique_id,
            comparisons=self.comparisons(),
            blocking_rules_to_generate_predictions=self.blocking_rules(),
            retain_matching_columns=True,
            retain_intermediate_calculation_columns=True,
            additional_columns_to_retain=["source_system"],
        )

    def m_limits(self) -> dict[str, dict[str, float]]:
        limits = self.training.get("m_limits", {})
        return {
            comparison: {label: float(rule["max"]) for label, rule in levels.items()}
            for comparison, levels in limits.items()
        }


def _level_entry(level: dict[str, Any]) -> tuple[str, Any]:
    entries = [(key, value) for key, value in level.items() if key != "configure"]
    if len(entries) != 1:
        raise SpecError(f"a comparison level needs exactly one class, got {list(level)}")
    key, value = entries[0]
    return key, (value if value is not None else {})


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def blocking_rule(rule: Any) -> Any:
    """`[col, col]` → block_on(col, col); `{sql: ...}` → a SQL blocking rule; `{explode: col}` → list overlap."""
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    if isinstance(rule, list):
        return block_on(*rule)
    if isinstance(rule, dict) and "sql" in rule:
        return CustomRule(" ".join(rule["sql"].split()))
    if isinstance(rule, dict) and "explode" in rule:
        # records sharing any element of a list column (e.g. an order number quoted by both)
        return block_on(rule["explode"], arrays_to_explode=[rule["explode"]])
    raise SpecError(f"a blocking rule is a list of columns or {{sql: ...}}, got {rule!r}")


def builtin_specs() -> list[str]:
    return sorted(path.stem for path in SPEC_DIR.glob("*.yml"))


def find_spec(name_or_path: str, base_dir: Path) -> Path:
    """A built-in spec by name (`customer`), or a project's own spec file (relative to `base_dir`)."""
    if "/" not in name_or_path and not name_or_path.endswith((".yml", ".yaml")):
        file = SPEC_DIR / f"{name_or_path}.yml"
        if not file.is_file():
            raise SpecError(
                f"model spec '{name_or_path}' is not a built-in spec ({', '.join(builtin_specs())}); "
                "to use a file of the project, give its path (e.g. specs/mine.yml)"
            )
        return file
    file = Path(name_or_path).expanduser()
    file = file if file.is_absolute() else base_dir / file
    if not file.is_file():
        raise SpecError(f"{file}: model spec not found")
    return file


def load_spec(path: str | Path) -> ModelSpec:
    """Read a spec. `extends: <other spec>` (a built-in name such as `customer`, or a path relative to this file)
    starts from another spec; keys given here replace its keys (mappings are merged key by key, lists are
    replaced), so a data set can tune guard rails without copying comparisons."""
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"{path}: model spec not found")
    raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    if "extends" in raw:
        base = load_spec(find_spec(str(raw.pop("extends")), file.parent).resolve()).raw
        raw = _merged(base, raw)
    for key in ("name", "version", "columns", "comparisons", "blocking_rules_to_generate_predictions"):
        if key not in raw:
            raise SpecError(f"{file}: missing key '{key}'")
    return ModelSpec(file, raw)


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; `comparisons` merge by output_column_name (replace or add); other lists replace."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merged(base[key], value)
        elif key == "comparisons" and isinstance(base.get(key), list):
            by_name = {comparison["output_column_name"]: comparison for comparison in value}
            merged[key] = [by_name.pop(c["output_column_name"], c) for c in base[key]] + list(by_name.values())
        else:
            merged[key] = value
    return merged
