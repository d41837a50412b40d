"""README.md is runnable as written: every Python block compiles and imports what it names from
this package, and the first-DAG walk-through lands its image against the emulator."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from airflow_versions import needs_airflow_3

from .conftest import REPO, task_states

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.DOTALL)
FIRST_DAG = BLOCKS[0]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{number}" for number in range(len(BLOCKS))])
def test_every_python_block_compiles_and_its_provider_imports_resolve(block: str):
    tree = ast.parse(block)  # a syntax error fails here, naming the line
    imported = [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow_provider_nanobanana")
        for alias in node.names
    ]
    for module, name in imported:
        assert hasattr(importlib.import_module(module), name), f"README imports {name} from {module}"


def test_the_first_dag_block_is_the_walk_through_with_every_import_it_uses():
    assert "from datetime import datetime" in FIRST_DAG
    assert '"my_first_bananas"' in FIRST_DAG, "the DAG the walk-through test runs"


@needs_airflow_3  # the walk-through imports DAG from airflow.sdk
def test_the_readme_walk_through_lands_its_image_against_the_emulator(
    run_dag, airflow_db: Path, nanobanana_emulator, nanobanana_s3
):
    (airflow_db / "readme_first_dag.py").write_text(FIRST_DAG)

    dag_run = run_dag("my_first_bananas", deferrable=True)

    assert str(dag_run.state) == "success", task_states(dag_run)
    assert nanobanana_emulator.counters()["accepted"]["acedata"] == 1
    listed = nanobanana_s3.client().list_objects_v2(Bucket="nanobanana-images", Prefix="first/")
    assert listed["KeyCount"] == 1, "the one image is in the bucket the README names"
