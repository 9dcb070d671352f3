"""A project's own suite module, by path (`tables.<t>.suite`): it adds rules to the suite the product built, two
projects never see each other's modules, a broken module is a clear error naming the file, and nothing is found
by a global name (a user's source called `sales` gets no demo rules)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from support.quality import deliver, gate, quarantined, query

from customer360.core.config import load_config
from expectations import project
from expectations.project import SuiteError

ITEMS_SUITE = '''
import great_expectations.expectations as gxe

from expectations.kit import derive, quarantine
from expectations.values import given


def build(suite, ctx):
    """{doc}"""
    word = derive(suite, "word__given", given("word"), shows="word")
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeInSet(column=word, value_set=["{banned}"]),
        rule="word_banned",
        reason="{{column}} {{value}} is banned in {project}",
    )
'''


def make_project(root: Path, name: str, suite_text: str | None = None, source: str = "shop") -> Path:
    """A project folder: customer360.yml (one JSON-lines table `items`) and, optionally, suites/items.py."""
    root.mkdir(parents=True, exist_ok=True)
    suite_line = "        suite: suites/items.py\n" if suite_text is not None else ""
    (root / "customer360.yml").write_text(
        textwrap.dedent(
            f"""\
            project: {name}
            warehouse: {{path: data/warehouse.duckdb, memory_limit: 1GB, threads: 2}}
            sources:
              {source}:
                connector: files
                tables:
                  items:
                    path: silos/*.jsonl
                    format: jsonl
                    primary_key: id
            """
        )
        + suite_line,
        encoding="utf-8",
    )
    if suite_text is not None:
        (root / "suites").mkdir(exist_ok=True)
        (root / "suites" / "items.py").write_text(suite_text, encoding="utf-8")
    return root / "customer360.yml"


def words(root: Path, *values: str) -> None:
    rows = [{"id": i, "word": value} for i, value in enumerate(values, start=1)]
    deliver(root, "silos/d1.jsonl", "".join(json.dumps(r) + "\n" for r in rows))


def test_a_project_suite_adds_its_rules_to_the_products_suite(tmp_path):
    config = load_config(make_project(tmp_path, "a", ITEMS_SUITE.format(doc="a", banned="foo", project="a")))
    words(tmp_path, "foo", "bar", "baz")

    _, report = gate(config)

    (batch,) = report.batches
    assert batch.suite == "generic + suites/items.py"
    (row,) = quarantined(config, "shop", "items")
    assert row["_c360_rule"] == "word_banned" and row["_c360_reason"].startswith("word 'foo' is banned in a")


def test_two_projects_with_a_module_of_the_same_name_never_see_each_other(tmp_path):
    first = load_config(make_project(tmp_path / "a", "a", ITEMS_SUITE.format(doc="a", banned="foo", project="a")))
    second = load_config(make_project(tmp_path / "b", "b", ITEMS_SUITE.format(doc="b", banned="bar", project="b")))
    words(tmp_path / "a", "foo", "bar")
    words(tmp_path / "b", "foo", "bar")

    gate(first)
    gate(second)

    assert [r["_c360_reason"][:24] for r in quarantined(first, "shop", "items")] == ["word 'foo' is banned in "]
    assert [r["_c360_reason"][:24] for r in quarantined(second, "shop", "items")] == ["word 'bar' is banned in "]
    a = project.for_table(first, first.source("shop").table("items"))
    b = project.for_table(second, second.source("shop").table("items"))
    assert a is not None and b is not None and a.module is not b.module
    assert a.module.__name__ != b.module.__name__
    assert (a.module.build.__doc__, b.module.build.__doc__) == ("a", "b")
    assert not {"items", "suites", "suites.items"} & set(sys.modules)  # no global name was taken


def test_a_changed_module_is_read_again(tmp_path):
    path = make_project(tmp_path, "a", ITEMS_SUITE.format(doc="v1", banned="foo", project="a"))
    config = load_config(path)
    table = config.source("shop").table("items")
    assert project.for_table(config, table).module.build.__doc__ == "v1"  # type: ignore[union-attr]

    module = tmp_path / "suites" / "items.py"
    module.write_text(ITEMS_SUITE.format(doc="version 2", banned="foo", project="a"), encoding="utf-8")

    assert project.for_table(config, table).module.build.__doc__ == "version 2"  # type: ignore[union-attr]


BROKEN = [
    pytest.param("import not_a_module_anywhere\n", r"cannot be imported, line 1: ModuleNotFoundError", id="import"),
    pytest.param("def build(suite, ctx):\n    return (\n", r"cannot be imported, line 2: SyntaxError", id="syntax"),
    pytest.param("X = 1\n", r"defines no function build\(suite, ctx\)", id="no-build"),
    pytest.param("def build(ctx):\n    return None\n", r"build\(ctx\) must take \(suite, ctx\)", id="old-signature"),
    pytest.param(
        "def build(suite, ctx):\n    x = {}\n    x['missing']\n",
        r"build\(suite, ctx\) failed for shop.items, line 3: KeyError: 'missing'",
        id="raises",
    ),
    pytest.param(
        "import great_expectations.expectations as gxe\nfrom expectations.kit import quarantine\n\n"
        "def build(suite, ctx):\n"
        "    quarantine(suite, ctx, gxe.ExpectColumnValuesToNotBeNull(column='id'), rule='id_missing')\n",
        r"failed for shop.items, line 5: ValueError: suite shop.items: rule 'id_missing' is defined twice",
        id="duplicate-rule",
    ),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_a_broken_module_is_a_clear_error_and_nothing_is_recorded(tmp_path, text, message):
    config = load_config(make_project(tmp_path, "a", text))
    words(tmp_path, "foo")

    with pytest.raises(SuiteError, match=message) as error:
        gate(config)

    assert str(error.value).startswith(str((tmp_path / "suites" / "items.py").resolve()))
    assert query(config, "select count(*) from meta.batches where validated_at is null") == [(1,)]


def test_a_source_named_like_the_demos_gets_no_demo_rules(tmp_path):
    """The original bug: a user's source called `sales` picked up the demo's sales__orders suite and crashed."""
    config = load_config(make_project(tmp_path, "mine", source="sales"))
    words(tmp_path, "whatever")

    _, report = gate(config)

    (batch,) = report.batches
    assert batch.suite == "generic" and batch.status == "passed"
    assert {r.rule for r in batch.rules} <= {"id_not_delivered", "id_missing", "id_duplicate", "volume_not_empty"}
