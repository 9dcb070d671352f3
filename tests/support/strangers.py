"""Gipfelwerk AG's silos (issue 13): the generator lives in the development tools (c360_devtools.strangers), where
`c360 bench-accuracy` uses it too; the tests import it from here."""

from c360_devtools.strangers import (
    PEOPLE,
    SCENARIOS,
    SEED,
    SILOS,
    Person,
    Scenario,
    Variety,
    World,
    ascii_fold,
    generate,
    helpdesk_pages,
    load_world,
    scenario,
    write_project,
)

__all__ = [
    "PEOPLE",
    "SCENARIOS",
    "SEED",
    "SILOS",
    "Person",
    "Scenario",
    "Variety",
    "World",
    "ascii_fold",
    "generate",
    "helpdesk_pages",
    "load_world",
    "scenario",
    "write_project",
]
