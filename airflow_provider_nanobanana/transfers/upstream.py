"""Which upstream task instances did not succeed: their images never reached the transfer.

A transfer downstream of mapped generation tasks runs with ``trigger_rule="all_done"`` so that
one failed prompt does not strand the images its siblings paid for; a mapped output then simply
lacks the failed indexes. To fail loudly about them after landing the rest, the transfer asks
Airflow for its upstream tasks' states.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

_SUCCESS = "success"


def unsuccessful_upstream(context: Any, task_ids: Collection[str]) -> list[str]:
    """``"task_id[map_index] (state)"`` for each upstream task instance that did not succeed."""
    if not task_ids:
        return []
    ti = context["ti"]
    if hasattr(ti, "get_task_states"):  # the Airflow 3 task SDK asks the API server
        by_name = ti.get_task_states(dag_id=ti.dag_id, task_ids=sorted(task_ids), run_ids=[ti.run_id])
        states = by_name.get(ti.run_id, {})
    else:  # Airflow 2 reads the metadata DB
        states = {
            instance.task_id if instance.map_index < 0 else f"{instance.task_id}_{instance.map_index}": (
                instance.state
            )
            for instance in context["dag_run"].get_task_instances()
            if instance.task_id in task_ids
        }
    return [_describe(name, task_ids, state) for name, state in sorted(states.items()) if state != _SUCCESS]


def _describe(name: str, task_ids: Collection[str], state: Any) -> str:
    """``generate_3`` → ``generate[3]``: Airflow keys mapped instances as ``<task_id>_<map_index>``."""
    task_id, _, index = name.rpartition("_")
    shown = f"{task_id}[{index}]" if task_id in task_ids and index.isdigit() else name
    return f"{shown} ({getattr(state, 'value', state) or 'not run'})"
