"""Insights answers of the Graph APIs (Instagram and Threads share the shape): Meta's metric
names mapped to ours."""

from __future__ import annotations

from typing import Any


def graph_insights(answer: dict[str, Any], table: dict[str, str]) -> dict[str, int | None]:
    """{"data": [{"name": ..., "values": [{"value": n}]} | {"total_value": {"value": n}}]} ->
    our names; a metric Meta did not return is absent."""
    found: dict[str, int | None] = {}
    for row in answer.get("data", []):
        ours = table.get(row.get("name", ""))
        if ours is None:
            continue
        if "total_value" in row:
            found[ours] = int(row["total_value"].get("value", 0))
        elif row.get("values"):
            found[ours] = int(row["values"][-1].get("value", 0))
    return found
