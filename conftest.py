"""Repository-level pytest configuration: the doctests of ``govml/`` run with the tests.

The Spark examples in ``govml/spark.py`` need Java 17; without it they are skipped with
the fix (the Spark tests in ``tests/test_spark.py`` skip the same way). ``.ci/run``
installs Java, so in CI they always run.
"""

from __future__ import annotations

import os
import shutil

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if shutil.which("java") or os.environ.get("JAVA_HOME"):
        return
    skip = pytest.mark.skip(
        reason="the Spark examples need Java 17: apt-get install openjdk-17-jre-headless "
        "(or set JAVA_HOME); .ci/run installs it"
    )
    for item in items:
        if item.nodeid.startswith("govml/spark.py"):
            item.add_marker(skip)
