"""The gate's wording: one sentence per failed rule, per rejected batch and per broken mart, written for the data
engineer who reads `c360 quarantine list`, the run summary or `meta.batches.message`."""

from __future__ import annotations

import logging
from typing import Any

from expectations.report import QualityReport, RuleResult
from expectations.settings import QualitySettings

log = logging.getLogger("expectations.runner")


def plain(template: str, label: str | None) -> str:
    """A reason template without a row: `{column} {value} is not …` → `e_mail … is not …`."""
    return template.replace("{column}", label or "value").replace("{value}", "…").replace("{count}", "n")


def describe(
    rule: RuleResult,
    text: str,
    result: dict[str, Any],
    exception: dict[str, Any] | None,
    settings: QualitySettings,
) -> str:
    """A sentence for a failed (or flagged) rule: what was expected, what was found, an example."""
    if exception:
        messages = [exception.get("exception_message")] + [
            v.get("exception_message") for v in exception.values() if isinstance(v, dict)
        ]
        detail = next((m for m in messages if m), "unknown error")
        return f"the check could not run: {detail}"
    details = (result.get("details") or {}).get("mismatched") or {}
    if details:
        parts = []
        if details.get("unexpected"):
            parts.append("new column(s) " + ", ".join(details["unexpected"]))
        if details.get("missing"):
            parts.append("missing column(s) " + ", ".join(details["missing"]))
        return f"{text}: {'; '.join(parts)}"
    unexpected, elements = result.get("unexpected_count"), result.get("element_count")
    if unexpected is not None and elements:
        sample = ", ".join(repr(v) for v in rule.sample[:3])
        example = f"; e.g. {sample}" if sample else ""
        share = f"{unexpected:,} of {elements:,} rows ({unexpected / elements:.1%})"
        if rule.action == "quarantine":
            return (
                f"{share} fail ({text}), more than the {settings.max_bad_share:.0%} a delivery may lose to "
                f"quarantine{example}"
            )
        return f"{text}: {share}{example}"
    observed = result.get("observed_value")
    return f"{text} (observed: {observed})" if observed is not None else text


def mismatch(rule: str, gx_count: int, sql_count: int) -> str:
    """GX and the rule's SQL translation flag different rows: which rows to quarantine is uncertain."""
    return (
        f"rule {rule}: Great Expectations counted {gx_count:,} failing rows, its SQL translation selected "
        f"{sql_count:,}, so the rows to quarantine are uncertain and the batch is not accepted (a bug in "
        "expectations/sql.py: please report it; `c360 quarantine release --batch <id> --force` accepts the batch "
        "with the rows SQL selected)"
    )


def bad_share(bad: int, total: int, settings: QualitySettings) -> str:
    return (
        f"{bad:,} of {total:,} rows ({bad / total:.1%}) failed row-level checks or could not be parsed, more than "
        f"the {settings.max_bad_share:.0%} a delivery may lose to quarantine"
    )


def missing_mart(table: str) -> str:
    return (
        f"marts.{table} does not exist: the marts were not built (or not completely), so there is nothing "
        "checked to publish"
    )


def log_report(report: QualityReport) -> None:
    for name, row in sorted(report.tables().items()):
        log.info(
            "quality %s: %s rows checked, %s passed, %s quarantined, %s batch(es) rejected",
            name,
            f"{row['checked']:,}",
            f"{row['passed']:,}",
            f"{row['quarantined']:,}",
            row["rejected_batches"],
        )
    for batch in report.rejected:
        log.warning("quality %s: batch %s rejected: %s", batch.name, batch.batch_id, "; ".join(batch.reasons))
    for mart in report.marts:
        if not mart.success:
            log.warning("quality marts.%s failed: %s", mart.table, "; ".join(mart.reasons))
