"""From scored pairs to clusters, with guard rails.

1. Links: pairs at or above the threshold, minus pairs a cannot-link rule or a human "different" decision vetoes,
   plus human "same" decisions (must-link).
2. Components: connected components of the links (Splink's SQL connected components).
3. Conflicts: inside every component of three or more records, each pair of records is checked against the
   cannot-link rules, so one weak record (a family e-mail, an initial) cannot chain two people together.
4. Components with a conflict or above the size cap are re-clustered by adding their links strongest first and
   refusing any link that would join records that cannot be together or exceed the cap (Kruskal with
   cannot-link constraints). Only these few components go through Python; everything else is SQL.
5. Bridge records (records with links into more than one final cluster) are reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from customer360.core.warehouse import table_exists
from entity_resolution.spec import GuardRule

ER = "entity_resolution"
DIFFERENT = "decision: not the same person"


@dataclass
class ConstrainedResult:
    cluster_of: dict[str, str]
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (record_l, record_r, reason)


def constrained_clusters(
    nodes: Iterable[str],
    links: Iterable[tuple[str, str, float]],
    cannot_link: set[tuple[str, str]],
    cap: int,
    must_link: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
    decided_apart: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> ConstrainedResult:
    """Greedy agglomeration: strongest link first; refuse links that would join a cannot-link pair or exceed cap.

    A human "same" decision (`must_link`) is obeyed whatever the guard rails say about the records it joins: only a
    human "different" decision (`decided_apart`, also in `cannot_link`) can stand against it. Deterministic: ties
    in weight are broken by record keys, so a full run and an incremental run agree. Clusters are named after their
    smallest record key.
    """
    parent = {node: node for node in nodes}
    members = {node: {node} for node in parent}

    def find(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    refused: list[tuple[str, str, str]] = []
    ordered = sorted(
        links,
        key=lambda link: ((min(link[0], link[1]), max(link[0], link[1])) not in must_link, -link[2], link[0], link[1]),
    )
    for left, right, _ in ordered:
        root_left, root_right = find(left), find(right)
        if root_left == root_right:
            continue
        group_left, group_right = members[root_left], members[root_right]
        decided = (min(left, right), max(left, right)) in must_link
        if len(group_left) + len(group_right) > cap and not decided:
            refused.append((left, right, f"cluster would exceed the size cap of {cap}"))
            continue
        forbidden = decided_apart if decided else cannot_link
        conflict = next(
            ((a, b) for a in group_left for b in group_right if (min(a, b), max(a, b)) in forbidden),
            None,
        )
        if conflict:
            refused.append((left, right, f"would put {conflict[0]} and {conflict[1]} together, which cannot link"))
            continue
        if len(group_left) < len(group_right):
            root_left, root_right = root_right, root_left
        parent[root_right] = root_left
        members[root_left] |= members.pop(root_right)
    cluster_of = {}
    for group in members.values():
        name = min(group)
        for node in group:
            cluster_of[node] = name
    return ConstrainedResult(cluster_of, refused)


def cannot_link_predicate(rules: list[GuardRule], requirements: list[GuardRule] = ()) -> str:  # type: ignore[assignment]
    """SQL naming the first guard rail a pair (l, r) breaks (a cannot-link rule that holds, or a requirement that
    does not), or NULL."""
    cases = [f"when ({rule.sql}) then '{rule.name}'" for rule in rules]
    cases += [f"when not coalesce(({rule.sql}), false) then '{rule.name}'" for rule in requirements]
    return f"case {' '.join(cases)} end" if cases else "cast(null as varchar)"


def build_links(
    con: duckdb.DuckDBPyConnection,
    rules: list[GuardRule],
    requirements: list[GuardRule],
    threshold: float,
    affected_table: str | None = None,
) -> None:
    """entity_resolution.links: every candidate link and its fate (accepted, or vetoed and why).

    With `affected_table` (record_key), only links touching those records are judged again; the rest stand."""
    touching = (
        f"(record_key_l in (select record_key from {affected_table}) or record_key_r in (select record_key from {affected_table}))"
        if affected_table
        else "true"
    )
    if affected_table:
        con.execute(f"delete from {ER}.links where {touching}")
    target = f"insert into {ER}.links" if affected_table else f"create or replace table {ER}.links as"
    con.execute(
        f"""
        {target}
        with candidates as (
            select record_key_l, record_key_r, match_weight, match_probability, 'model' as origin
            from {ER}.pairs
            where match_probability >= {threshold} and {touching}
        ),
        decided as (
            select record_key_l, record_key_r, decision from {ER}.decisions where {touching}
        ),
        all_links as (
            select candidates.*, decided.decision
            from candidates left join decided using (record_key_l, record_key_r)
            union all
            select decided.record_key_l, decided.record_key_r, 99.0, 1.0, 'decision', decided.decision
            from decided
            anti join candidates using (record_key_l, record_key_r)
            where decided.decision = 'same'
        ),
        judged as (
            select
                all_links.*,
                case
                    when decision = 'different' then 'decision: not the same person'
                    when decision = 'same' then null
                    else {cannot_link_predicate(rules, requirements)}
                end as vetoed_by
            from all_links
            join {ER}.records as l on l.record_key = all_links.record_key_l
            join {ER}.records as r on r.record_key = all_links.record_key_r
        )
        select
            record_key_l,
            record_key_r,
            case when decision = 'same' then 99.0 else match_weight end as match_weight,
            match_probability,
            origin,
            vetoed_by,
            vetoed_by is null as is_accepted
        from judged
        """
    )


def cluster_scope(
    con: duckdb.DuckDBPyConnection, db_api: Any, scope_table: str, cap: int, rules: list[GuardRule]
) -> dict[str, int]:
    """Recompute components and clusters for the records in `scope_table` (record_key); replace their rows."""
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    con.execute(
        f"""
        create or replace temp table scope_links as
        select links.record_key_l, links.record_key_r, links.match_weight
        from {ER}.links as links
        semi join {scope_table} as l_scope on l_scope.record_key = links.record_key_l
        semi join {scope_table} as r_scope on r_scope.record_key = links.record_key_r
        where links.is_accepted
        """
    )
    components = cluster_pairwise_predictions_at_threshold(
        nodes=con.sql(f"select record_key from {scope_table}"),
        edges=con.sql("select record_key_l, record_key_r from scope_links"),
        db_api=db_api,
        node_id_column_name="record_key",
        edge_id_column_name_left="record_key_l",
        edge_id_column_name_right="record_key_r",
    )
    con.execute(
        f"""
        create or replace temp table scope_components as
        select record_key, cluster_id as component_key, count(*) over (partition by cluster_id) as component_size
        from {components.physical_name}
        """
    )
    components.drop_table_from_database_and_remove_from_cache()

    # every pair inside a component of 3+ records that must not be together (2-record components were vetted as a link)
    con.execute(
        f"""
        create or replace temp table scope_conflicts as
        with members as (
            select record_key, component_key from scope_components where component_size >= 3
        ),
        member_pairs as (
            select a.component_key, a.record_key as record_key_l, b.record_key as record_key_r
            from members as a join members as b
              on a.component_key = b.component_key and a.record_key < b.record_key
        ),
        judged as (
            select member_pairs.*, {cannot_link_predicate(rules)} as rule
            from member_pairs
            join {ER}.records as l on l.record_key = member_pairs.record_key_l
            join {ER}.records as r on r.record_key = member_pairs.record_key_r
        )
        select component_key, record_key_l, record_key_r, rule from judged where rule is not null
        union all
        select a.component_key, d.record_key_l, d.record_key_r, '{DIFFERENT}'
        from {ER}.decisions as d
        join scope_components as a on a.record_key = d.record_key_l
        join scope_components as b on b.record_key = d.record_key_r and b.component_key = a.component_key
        where d.decision = 'different'
        """
    )
    troubled = con.execute(
        f"""
        select component_key from scope_conflicts
        union
        select component_key from scope_components where component_size > {cap}
        """
    ).fetchall()
    troubled_keys = [row[0] for row in troubled]

    refused: list[tuple[str, str, str, str]] = []
    assignments: list[tuple[str, str]] = []
    if troubled_keys:
        con.execute(
            "create or replace temp table troubled as select unnest(?::varchar[]) as component_key", [troubled_keys]
        )
        nodes_by_component: dict[str, list[str]] = {}
        for record_key, component_key in con.execute(
            "select record_key, component_key from scope_components semi join troubled using (component_key)"
        ).fetchall():
            nodes_by_component.setdefault(component_key, []).append(record_key)
        links_by_component: dict[str, list[tuple[str, str, float]]] = {}
        for component_key, left, right, weight in con.execute(
            """
            select c.component_key, l.record_key_l, l.record_key_r, l.match_weight
            from scope_links as l join scope_components as c on c.record_key = l.record_key_l
            semi join troubled using (component_key)
            """
        ).fetchall():
            links_by_component.setdefault(component_key, []).append((left, right, weight))
        conflicts_by_component: dict[str, set[tuple[str, str]]] = {}
        apart_by_component: dict[str, set[tuple[str, str]]] = {}
        for component_key, left, right, rule in con.execute(
            "select component_key, record_key_l, record_key_r, rule from scope_conflicts"
        ).fetchall():
            conflicts_by_component.setdefault(component_key, set()).add((left, right))
            if rule == DIFFERENT:
                apart_by_component.setdefault(component_key, set()).add((left, right))
        must_link = {
            (left, right)
            for left, right in con.execute(
                f"select record_key_l, record_key_r from {ER}.decisions where decision = 'same'"
            ).fetchall()
        }
        for component_key, nodes in nodes_by_component.items():
            result = constrained_clusters(
                nodes,
                links_by_component.get(component_key, []),
                conflicts_by_component.get(component_key, set()),
                cap,
                must_link=must_link,
                decided_apart=apart_by_component.get(component_key, set()),
            )
            assignments.extend(result.cluster_of.items())
            refused.extend((component_key, left, right, reason) for left, right, reason in result.refused)

    con.execute("create or replace temp table troubled_assignments (record_key varchar, cluster_key varchar)")
    if assignments:
        con.executemany("insert into troubled_assignments values (?, ?)", assignments)
    # replace the scope's rows in the persistent tables
    con.execute(f"delete from {ER}.components where record_key in (select record_key from {scope_table})")
    con.execute(
        f"""
        insert into {ER}.components
        select c.record_key, c.component_key, coalesce(t.cluster_key, c.component_key) as cluster_key
        from scope_components as c left join troubled_assignments as t using (record_key)
        """
    )
    con.execute(f"delete from {ER}.refused_links where record_key_l in (select record_key from {scope_table})")
    if refused:
        con.executemany(f"insert into {ER}.refused_links values (?, ?, ?, ?)", refused)
    return {"components_reclustered": len(troubled_keys), "links_refused": len(refused)}


def bridge_records(
    con: duckdb.DuckDBPyConnection, scope_table: str | None = None, removed_table: str | None = None
) -> None:
    """Records whose accepted links reach into more than one final cluster: the ones that would have chained.

    With `scope_table` (the records just re-clustered) only their rows are recomputed: a record outside the scope
    has all its accepted links inside its own, untouched component, so its row cannot change.
    """
    in_scope = f"semi join {scope_table} using (record_key)" if scope_table else ""
    query = f"""
        with link_ends as (
            select record_key_l as record_key, record_key_r as other_key from {ER}.links where is_accepted
            union all
            select record_key_r, record_key_l from {ER}.links where is_accepted
        ),
        reach as (
            select link_ends.record_key, own.cluster_key, other.cluster_key as reached_cluster_key
            from (select * from link_ends {in_scope}) as link_ends
            join {ER}.components as own on own.record_key = link_ends.record_key
            join {ER}.components as other on other.record_key = link_ends.other_key
        )
        select
            record_key,
            any_value(cluster_key) as cluster_key,
            count(distinct reached_cluster_key) as clusters_reached,
            list(distinct reached_cluster_key order by reached_cluster_key) as reached_cluster_keys
        from reach
        group by record_key
        having count(distinct reached_cluster_key) > 1
    """
    if scope_table is None or not table_exists(con, ER, "bridge_records"):
        con.execute(f"create or replace table {ER}.bridge_records as {query}")
        return
    gone = f" or record_key in (select record_key from {removed_table})" if removed_table else ""
    con.execute(f"delete from {ER}.bridge_records where record_key in (select record_key from {scope_table}){gone}")
    con.execute(f"insert into {ER}.bridge_records {query}")
