"""A ledger outlives the work it records until Airflow has recorded the task's success for good.

A task's work is done (jobs paid, images landed) before Airflow records the task successful:
Airflow pushes the XCom and reports success only after ``execute`` returns. A worker lost in
between (an OOM kill, a lost node) leaves a try that Airflow fails, and its retry must not pay
again. So a task does not delete its ledger when its work is done: it marks the entry finished
(which try, Airflow's ``max_tries`` at the time, and what it returned). A later try that finds a
finished entry returns the recorded result and pays nothing, unless the task was *cleared after
that try succeeded* (a deliberate re-run, which pays again): Airflow's clear raises ``max_tries``
to the try number plus the task's retries, which a retry never does, so a re-run is a finished
entry whose success Airflow recorded and whose ``max_tries`` has grown since.

- **Airflow 3**: the task SDK reports success to the API server and waits for it, then runs the
  success callbacks. :func:`settle_ledger_on_success` (every paying operator's first success
  callback) asks Airflow for the task instance's state. If it reads ``success`` and the try ran
  start to end in this process, the entry is deleted. If the try resumed from a deferral, the
  entry is kept and marked ``confirmed``: Airflow's scheduler can still handle the executor's
  stale "success" of the process that deferred and overwrite this recorded success with a retry
  (README, "Airflow's defer-exit race"; measured: 2 of 1,000 mapped tasks paid twice when the
  entry was deleted here). That retry finds the confirmed entry with ``max_tries`` unchanged and
  returns the result, paying nothing. Confirmed entries expire with the task state store's
  retention on Airflow 3.3+ (``[state_store] default_retention_days``, 30 by default, as Airflow
  keeps task state after success for observability); on 3.0 to 3.2 they stay as Variables whose
  description names the task instance (``Nano Banana ledger ...``) until deleted.
- **Airflow 2.11** runs success callbacks *before* it commits the success, so there the entry
  stays, and a later try asks the task instance history how Airflow recorded the try that
  finished. Finished entries whose task instance Airflow records as successful are deleted by
  the next Nano Banana task that starts (:func:`sweep_confirmed_entries`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from typing import Any

from airflow_provider_nanobanana.ledger.store import TaskInstanceStore
from airflow_provider_nanobanana.task_instance import TaskInstanceKey

FINISHED = "finished"
CONFIRMED = "confirmed"
log = logging.getLogger(__name__)


def finish_marker(store: TaskInstanceStore, ti: Any, **outcome: Any) -> dict[str, Any]:
    """What the try that did the work records: which try, Airflow's ``max_tries`` then (a clear
    raises it), when, for whom, and ``outcome``."""
    return {
        "try": ti.try_number,
        "max_tries": ti.max_tries,
        "at": time.time(),
        **asdict(store.task_instance),
        **outcome,
    }


def mark_finished(entry: dict[str, Any], store: TaskInstanceStore, ti: Any) -> dict[str, Any]:
    """``entry`` as the try that did the work leaves it (:func:`finish_marker` under ``finished``)."""
    return {**entry, FINISHED: finish_marker(store, ti)}


def finished_by(entry: dict[str, Any] | None) -> int | None:
    """The try that finished this entry's work, or None while the work is not done."""
    return (entry or {}).get(FINISHED, {}).get("try")


def is_rerun(store: TaskInstanceStore, marker: dict[str, Any], ti: Any) -> bool:
    """Whether the try that left ``marker`` succeeded in Airflow's records and the task was
    cleared since: this try is a re-run and pays anew. Otherwise it is a retry of work already
    done (a worker lost before Airflow recorded the success, or a recorded success the scheduler
    overwrote), which returns the recorded result."""
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    if AIRFLOW_V_3_0_PLUS:
        return bool(marker.get(CONFIRMED)) and ti.max_tries > marker.get("max_tries", ti.max_tries)
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session

    key = store.task_instance
    with create_session() as session:
        state = (
            session.query(TaskInstanceHistory.state)
            .filter_by(
                dag_id=key.dag_id,
                task_id=key.task_id,
                run_id=key.run_id,
                map_index=key.map_index,
                try_number=marker["try"],
            )
            .scalar()
        )
    return state == "success"


def why_recorded_result(marker: dict[str, Any]) -> str:
    """Why a later try finds this finished entry, for the line that says it pays nothing."""
    if marker.get(CONFIRMED):
        return (
            "Airflow recorded that try's success and its scheduler then turned it into a retry "
            "(the defer-exit race, README)"
        )
    return "Airflow never confirmed that try's success (its worker was lost before Airflow recorded it)"


class SettlesLedgerOnSuccess:
    """For paying operators: puts :func:`settle_ledger_on_success` first among the success
    callbacks, and notes whether this process resumed the task from a deferral (a success that
    Airflow's scheduler can still overwrite)."""

    resumed_from_deferral = False

    @staticmethod
    def with_ledger_settling(kwargs: dict[str, Any]) -> None:
        """Call before ``BaseOperator.__init__`` (``default_args`` are in ``kwargs`` by then)."""
        given = kwargs.get("on_success_callback")
        others = [] if given is None else list(given) if isinstance(given, list | tuple) else [given]
        kwargs["on_success_callback"] = [settle_ledger_on_success, *others]

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        self.resumed_from_deferral = True
        return super().resume_execution(next_method, next_kwargs, context)  # type: ignore[misc]


def settle_ledger_on_success(context: Any) -> None:
    """Success callback (Airflow 3): once Airflow reads this task instance as successful, delete
    its ledger, or keep it marked confirmed when the try resumed from a deferral (see the module
    docstring)."""
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    if not AIRFLOW_V_3_0_PLUS:
        return
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    states = ti.get_task_states(
        dag_id=ti.dag_id, map_index=map_index, task_ids=[ti.task_id], run_ids=[ti.run_id]
    )
    name = ti.task_id if map_index < 0 else f"{ti.task_id}_{map_index}"
    state = states.get(ti.run_id, {}).get(name)
    if state != "success":
        log.warning(
            "Airflow reads this task instance as %s, not success: its ledger is kept, so a retry "
            "or a clear returns this try's result instead of paying again.",
            state,
        )
        if state == "failed":
            log.warning(
                "Airflow failed the task while recording its success (see the API server log; "
                'README, "Airflow\'s new-asset race").\nClear the task: it pays nothing.'
            )
        return
    task, store = context["task"], TaskInstanceStore(context)
    if task.resumed_from_deferral:
        task.confirm_ledger(store)
        log.info(
            "Airflow recorded this success. The ledger is kept, marked confirmed: this try resumed "
            "from a deferral, and Airflow's scheduler can still turn such a success into a retry, "
            "which then returns this result and pays nothing."
        )
    else:
        task.forget_ledger(store)


def confirm(marker: dict[str, Any]) -> dict[str, Any]:
    """``marker`` once Airflow has recorded the success of the try that left it."""
    return {**marker, CONFIRMED: True}


def sweep_confirmed_entries() -> int:
    """Airflow 2.11: delete the ledgers (head and pages) of task instances that Airflow records as
    successful since their work finished, or no longer has; return how many went. A no-op on
    Airflow 3, where the success callback deletes them."""
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    if AIRFLOW_V_3_0_PLUS:
        return 0
    from airflow.models import TaskInstance
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    gone = 0
    with create_session() as session:
        heads = Variable.key.like("nanobanana%\\_\\_%", escape="\\") & ~Variable.key.contains(".p")
        for variable in session.query(Variable).filter(heads).all():
            done = json.loads(variable.val).get(FINISHED)
            if done is None:
                continue
            key = TaskInstanceKey(done["dag_id"], done["task_id"], done["run_id"], done["map_index"])
            ti = session.get(TaskInstance, asdict(key))
            if ti is not None and (ti.state != "success" or ti.try_number < done["try"]):
                continue
            digest = variable.key.rsplit("__", 1)[1]
            ledger = Variable.key.like(f"nanobanana%\\_\\_{digest}", escape="\\")
            session.query(Variable).filter(ledger).delete(synchronize_session=False)
            gone += 1
    if gone:
        log.info("Deleted %d finished Nano Banana ledgers Airflow records as successful.", gone)
    return gone
