"""A ledger outlives the work it records until Airflow has recorded the task's success.

A task's work is done (jobs paid, images landed) before Airflow records the task successful:
Airflow pushes the XCom and reports success only after ``execute`` returns. A worker lost in
between (an OOM kill, a lost node) leaves a try that Airflow fails, and its retry must not pay
again. So a task does not delete its ledger when its work is done: it marks the entry finished
(which try, and what it returned), and the entry goes only once Airflow has recorded the success:

- **Airflow 3**: the task SDK reports success to the API server and waits for it, then runs the
  success callbacks. :func:`forget_after_recorded_success` (every paying operator's first success
  callback) asks Airflow for the task instance's state and deletes the entry only if it reads
  ``success``. A later try that still finds a finished entry therefore knows that success was never
  confirmed, and returns the recorded result without paying.
- **Airflow 2.11** runs success callbacks *before* it commits the success, so there the entry
  stays, and a later try asks the task instance history how Airflow recorded the try that
  finished: ``success`` means the task was cleared on purpose (a re-run, which pays again);
  anything else is a retry, which returns the recorded result. Finished entries whose task
  instance Airflow records as successful are deleted by the next Nano Banana task that starts
  (:func:`sweep_confirmed_entries`).

Entries left behind by a worker lost in the instant between Airflow recording success and the
callback expire with the task state store's retention on Airflow 3.3 (``[state_store]
default_retention_days``, removed by ``airflow state-store clean``); on 3.0 to 3.2 they stay as
Variables whose description names the task instance, until deleted.
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
log = logging.getLogger(__name__)


def finish_marker(store: TaskInstanceStore, try_number: int, **outcome: Any) -> dict[str, Any]:
    """What the try that did the work records: which try, when, for whom, and ``outcome``."""
    return {"try": try_number, "at": time.time(), **asdict(store.task_instance), **outcome}


def mark_finished(entry: dict[str, Any], store: TaskInstanceStore, try_number: int) -> dict[str, Any]:
    """``entry`` as the try that did the work leaves it (:func:`finish_marker` under ``finished``)."""
    return {**entry, FINISHED: finish_marker(store, try_number)}


def finished_by(entry: dict[str, Any] | None) -> int | None:
    """The try that finished this entry's work, or None while the work is not done."""
    return (entry or {}).get(FINISHED, {}).get("try")


def recorded_as_success(store: TaskInstanceStore, try_number: int) -> bool:
    """Whether Airflow recorded success for ``try_number`` of this task instance.

    Only Airflow 2.11 can be asked from a worker (the task instance history is in its database);
    on Airflow 3 an entry still here is itself the answer: the success callback did not confirm
    it, so this is False.
    """
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    if AIRFLOW_V_3_0_PLUS:
        return False
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
                try_number=try_number,
            )
            .scalar()
        )
    return state == "success"


def with_ledger_cleanup(kwargs: dict[str, Any]) -> None:
    """Put :func:`forget_after_recorded_success` first among the task's success callbacks (call
    before ``BaseOperator.__init__``; ``default_args`` have been applied to ``kwargs`` by then)."""
    given = kwargs.get("on_success_callback")
    others = [] if given is None else list(given) if isinstance(given, list | tuple) else [given]
    kwargs["on_success_callback"] = [forget_after_recorded_success, *others]


def forget_after_recorded_success(context: Any) -> None:
    """Success callback: delete the task's ledger once Airflow reads this task instance as
    successful (Airflow 3 only; see the module docstring)."""
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
            "returns this try's result instead of paying again.",
            state,
        )
        return
    context["task"].forget_ledger(TaskInstanceStore(context))


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
