"""The rules a project may bring by path: the next-best-action playbook and the golden record's survivorship.

    rules = load_rules(config)            # validated; a mistake is a ConfigError naming file, rule and field
    rules.dbt_vars()                      # what the marts receive (dbt vars c360_nba_rules, ...)

Both are YAML files; the product's own are in customer360/core/defaults/. `rules.next_best_action` and
`rules.survivorship` in customer360.yml point to a project's files (relative to the configuration file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from customer360.core.config import Config, ConfigError, readable_location
from customer360.core.product import DEFAULTS_DIR, customer_signals

DEFAULT_PLAYBOOK = DEFAULTS_DIR / "next_best_action.yml"
DEFAULT_SURVIVORSHIP = DEFAULTS_DIR / "survivorship.yml"
ATTRIBUTE_GROUPS = ("name", "email", "phone", "date_of_birth", "address")
OPERATORS = {
    "is not null": "is_not_null",
    "is null": "is_null",
    "is true": "is_true",
    "is false": "is_false",
    ">=": ">=",
    "<=": "<=",
    "!=": "!=",
    "=": "=",
    ">": ">",
    "<": "<",
}
_CONDITION = re.compile(
    r"^\s*(?P<signal>[a-z][a-z0-9_]*)\s*(?P<operator>"
    + "|".join(re.escape(op) for op in sorted(OPERATORS, key=len, reverse=True))
    + r")\s*(?P<value>.*?)\s*$"
)
_NAME = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlaybookRule(_Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]
    priority: int
    action_code: Annotated[str, Field(pattern=_NAME)]
    action: str
    reason: str
    department: str | None = None
    channel: str = Field(default="any", description="phone, email, post, sms …; any: the next contact; none: nobody")
    promotional: bool = False
    requires_consent: Annotated[str | None, Field(pattern=_NAME, description="a consent purpose")] = None
    purpose: Annotated[
        str | None,
        Field(
            pattern=_NAME, description="what the contact is for (default: requires_consent, else marketing or service)"
        ),
    ] = None
    when: list[str] = []

    @model_validator(mode="after")
    def _one_purpose(self) -> PlaybookRule:
        if self.requires_consent and self.purpose and self.purpose != self.requires_consent:
            raise ValueError(
                f"rule {self.id}: purpose {self.purpose!r} differs from requires_consent {self.requires_consent!r};"
                " a rule that requires consent is for that purpose (drop `purpose`)"
            )
        return self

    @property
    def consent_purpose(self) -> str:
        """The purpose whose consent statements govern the rule (docs/privacy.md#the-contact-policy)."""
        return self.requires_consent or self.purpose or ("marketing" if self.promotional else "service")


class Playbook(_Strict):
    extends: Literal["default"] | None = None
    rules: list[PlaybookRule] = []
    remove: list[str] = Field(default=[], description="ids of the default playbook's rules to drop")


class SurvivorshipRule(_Strict):
    source_trust: list[str] = []
    ranking: list[Literal["trust", "completeness", "recency", "frequency"]] = Field(min_length=1)
    description: str | None = None


@dataclass(frozen=True)
class Condition:
    rule_id: str
    signal: str
    operator: str  # as next_best_action.sql knows them: is_true, >=, ...
    value: str | None


@dataclass(frozen=True)
class Rules:
    playbook: list[PlaybookRule]
    conditions: list[Condition]
    survivorship: dict[str, SurvivorshipRule]
    files: tuple[Path, ...]

    def dbt_vars(self) -> dict[str, Any]:
        return {
            "c360_nba_rules": [
                {
                    "rule_id": rule.id,
                    "priority": rule.priority,
                    "action_code": rule.action_code,
                    "action": rule.action,
                    "reason": rule.reason,
                    "department": rule.department,
                    "channel": rule.channel,
                    "is_promotional": rule.promotional,
                    "requires_consent": rule.requires_consent,
                    "purpose": rule.consent_purpose,
                }
                for rule in self.playbook
            ],
            "c360_nba_conditions": [
                {"rule_id": c.rule_id, "signal": c.signal, "operator": c.operator, "value": c.value}
                for c in self.conditions
            ],
            "c360_survivorship": [
                {
                    "attribute_group": group,
                    "source_trust": "|".join(rule.source_trust),
                    "ranking": "|".join(rule.ranking),
                }
                for group, rule in self.survivorship.items()
            ],
        }


def load_rules(config: Config) -> Rules:
    """The project's rules (or the product's), validated against the signals and sources that exist."""
    playbook_file = config.resolve_path(config.rules.next_best_action) if config.rules.next_best_action else None
    survivorship_file = config.resolve_path(config.rules.survivorship) if config.rules.survivorship else None
    playbook = _playbook(playbook_file)
    conditions = _conditions(playbook_file or DEFAULT_PLAYBOOK, playbook)
    survivorship = _survivorship(survivorship_file, config)
    files = tuple(f for f in (playbook_file, survivorship_file) if f is not None)
    return Rules(playbook, conditions, survivorship, files)


def _read(file: Path, model: type[BaseModel]) -> Any:
    if not file.is_file():
        raise ConfigError(f"{file}: rules file not found (named in customer360.yml under rules:)")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{file}: cannot read it as YAML: {error}") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        lines = [f"{file}: {error.error_count()} problem(s)"]
        for problem in error.errors():
            location = readable_location(data, problem["loc"], labels=("id",))
            message = problem["msg"].removeprefix("Value error, ")
            if problem["type"] == "extra_forbidden":
                message = "unknown key (check the spelling)"
            lines.append(f"  - {location or '(top level)'}: {message}")
        raise ConfigError("\n".join(lines)) from None


def _playbook(file: Path | None) -> list[PlaybookRule]:
    default = _read(DEFAULT_PLAYBOOK, Playbook).rules
    if file is None:
        return default
    own: Playbook = _read(file, Playbook)
    rules = {rule.id: rule for rule in default} if own.extends == "default" else {}
    unknown = [rule_id for rule_id in own.remove if rule_id not in rules]
    if unknown:
        raise ConfigError(f"{file}: remove names rule(s) {unknown} that the default playbook does not have")
    for rule_id in own.remove:
        del rules[rule_id]
    rules.update({rule.id: rule for rule in own.rules})
    playbook = sorted(rules.values(), key=lambda rule: (rule.priority, rule.id))
    problems = []
    for field in ("id", "priority", "action_code"):
        values = [getattr(rule, field) for rule in playbook]
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            problems.append(f"{field} must be unique, repeated: {', '.join(repeated)}")
    if not any(not rule.when and rule.channel == "none" for rule in playbook):
        problems.append(
            "no default rule: add one without conditions (empty `when`) that contacts nobody (`channel: none`), so"
            " that everyone gets an action whatever they consented to"
        )
    if problems:
        raise ConfigError(f"{file}: " + "; ".join(problems))
    return playbook


def _conditions(file: Path, playbook: list[PlaybookRule]) -> list[Condition]:
    signals = customer_signals()
    conditions, problems = [], []
    for rule in playbook:
        for text in rule.when:
            match = _CONDITION.match(text)
            if match is None:
                problems.append(
                    f"rule {rule.id}: condition {text!r} is not `<signal> <operator> [value]` "
                    f"(operators: {', '.join(OPERATORS)})"
                )
                continue
            signal, operator, value = match["signal"], OPERATORS[match["operator"]], match["value"] or None
            if signal not in signals:
                problems.append(f"rule {rule.id}: unknown signal {signal!r} (signals: {', '.join(signals)})")
            elif operator.startswith("is_") and value is not None:
                problems.append(f"rule {rule.id}: {text!r} takes no value after {match['operator']!r}")
            elif not operator.startswith("is_") and value is None:
                problems.append(f"rule {rule.id}: {text!r} needs a value after {match['operator']!r}")
            else:
                conditions.append(Condition(rule.id, signal, operator, value))
    if problems:
        raise ConfigError(f"{file}: " + "; ".join(problems))
    return conditions


def _survivorship(file: Path | None, config: Config) -> dict[str, SurvivorshipRule]:
    def read(path: Path) -> dict[str, SurvivorshipRule]:
        if not path.is_file():
            raise ConfigError(f"{path}: rules file not found (named in customer360.yml under rules:)")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: cannot read it as YAML: {error}") from None
        unknown = sorted(set(data) - set(ATTRIBUTE_GROUPS)) if isinstance(data, dict) else ["(not a mapping)"]
        if unknown:
            raise ConfigError(f"{path}: unknown attribute group(s) {unknown}; groups are {list(ATTRIBUTE_GROUPS)}")
        rules = {}
        for group, body in data.items():
            try:
                rules[group] = SurvivorshipRule.model_validate(body or {})
            except ValidationError as error:
                problem = error.errors()[0]
                raise ConfigError(f"{path}: {group}.{'.'.join(map(str, problem['loc']))}: {problem['msg']}") from None
        return rules

    rules = read(DEFAULT_SURVIVORSHIP)
    if file is not None:
        rules.update(read(file))
        systems = {system for system, _, _ in config.identity_mappings()}
        for group, rule in rules.items():
            unknown = [name for name in rule.source_trust if name not in systems]
            if unknown:
                raise ConfigError(
                    f"{file}: {group}.source_trust names {unknown}, which are not identity source systems of "
                    f"this project ({sorted(systems)})"
                )
    return rules
