"""A person's one-time consent to submit again what an earlier try may already have paid for.

When a request's answer was lost and the job cannot be found, the task refuses to pay again
(``NanoBananaPossiblyBilledError``). Clearing the task cannot change an operator argument, so the
error names an Airflow Variable for this task instance: set it to ``resubmit`` with one CLI
command, clear the task, and its next try submits anew once and deletes the Variable. The
Variable is read only when the question arises, never on an ordinary try.
"""

from __future__ import annotations

import logging

from airflow.providers.common.compat.sdk import Variable

from airflow_provider_nanobanana.task_instance import TaskInstanceKey

RESUBMIT = "resubmit"


def consent_variable(task_instance: TaskInstanceKey) -> str:
    return f"nanobanana_resubmit__{task_instance.digest}"


def how_to_consent(task_instance: TaskInstanceKey) -> str:
    """The remedy, on lines of its own so a log view does not cut it off."""
    return (
        "To submit anew, accepting that it may pay twice, run:\n"
        f"  airflow variables set {consent_variable(task_instance)} {RESUBMIT}\n"
        "then clear this task; its next try resubmits once and deletes that Variable."
    )


def take_consent(task_instance: TaskInstanceKey, log: logging.Logger) -> bool:
    """Whether a person consented for this task instance; consent is used up by reading it."""
    name = consent_variable(task_instance)
    if Variable.get(name, None) != RESUBMIT:  # positional: Airflow 2 names it default_var
        return False
    Variable.delete(name)
    log.warning("Variable %s says to submit anew: resubmitting (this may pay twice).", name)
    return True
