"""The public namespace: everything in ``__all__`` resolves, and ``import govml`` stays light."""

import json
import subprocess
import sys

import pytest

import govml

HEAVY = ("lightgbm", "shap", "mlflow", "pyspark", "numba", "polars", "matplotlib", "sklearn")


def test_all_names_resolve():
    missing = [name for name in govml.__all__ if not hasattr(govml, name)]
    assert missing == []


def test_dir_lists_public_api():
    assert set(govml.__all__) <= set(dir(govml))


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        govml.no_such_thing  # noqa: B018


def test_import_does_not_load_heavy_dependencies():
    code = f"import sys, json, govml; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_errors_share_one_base():
    for name in govml.__all__:
        obj = getattr(govml, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, govml.GovmlError), name


def test_subpackages_are_reachable_as_attributes():
    code = (
        "import govml; print(govml.features.catalogue('low_quality').shape[0] > 0, "
        "govml.policy.load_policy.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["True", "load_policy"]
