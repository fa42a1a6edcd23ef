"""Calibration: fitting, choosing, applying and storing the raw-score -> probability map."""

import json

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from govml import ConfigError, ModelFormatError, TrainingError
from govml.training.calibration import Calibration, _ece, fit_calibration


def _sample(n, kind, seed):
    """True log-odds z; labels from sigmoid(z); a raw score distorted affinely or not."""
    rng = np.random.default_rng(seed)
    z = rng.normal(-2.0, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    raw = 1.6 * z + 0.8 if kind == "affine" else z + 0.12 * (z + 2) ** 3
    return raw, y


@pytest.fixture(scope="module")
def test_affine():
    return _sample(100_000, "affine", 99)


@pytest.fixture(scope="module")
def test_cubic():
    return _sample(100_000, "cubic", 98)


def test_platt_recovers_a_known_logistic_map():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=20_000)
    y = (rng.random(20_000) < 1 / (1 + np.exp(-(0.5 * raw - 1.0)))).astype(int)
    cal = fit_calibration(raw, y, method="platt")
    assert cal.method == "platt"
    assert cal.slope == pytest.approx(0.5, abs=0.05)
    assert cal.intercept == pytest.approx(-1.0, abs=0.05)
    assert (cal.n_rows, cal.n_positive) == (20_000, int(y.sum()))


def test_calibration_improves_ece_on_a_miscalibrated_score(test_affine):
    raw, y = _sample(5_000, "affine", 1)
    raw_t, y_t = test_affine
    before = _ece(Calibration.identity().apply(raw_t), y_t)
    after = _ece(fit_calibration(raw, y).apply(raw_t), y_t)
    assert before > 0.04
    assert after < before / 4


def test_isotonic_fixes_a_non_sigmoid_distortion_that_platt_cannot(test_cubic):
    raw, y = _sample(20_000, "cubic", 2)
    raw_t, y_t = test_cubic
    platt = _ece(fit_calibration(raw, y, method="platt").apply(raw_t), y_t)
    iso = _ece(fit_calibration(raw, y, method="isotonic").apply(raw_t), y_t)
    assert iso < platt / 2


def test_isotonic_overfits_a_small_validation_set(test_affine):
    raw_t, y_t = test_affine
    platt, iso = [], []
    for seed in range(5):
        raw, y = _sample(400, "affine", 10 + seed)
        platt.append(_ece(fit_calibration(raw, y, method="platt").apply(raw_t), y_t))
        iso.append(_ece(fit_calibration(raw, y, method="isotonic").apply(raw_t), y_t))
    assert np.mean(iso) > np.mean(platt)


def test_auto_uses_platt_below_the_row_threshold():
    raw, y = _sample(1_000, "cubic", 3)
    cal = fit_calibration(raw, y)
    assert cal.method == "platt"
    assert dict(cal.selection) == {}  # isotonic was not even tried


def test_auto_uses_platt_when_the_distortion_is_affine():
    raw, y = _sample(20_000, "affine", 4)
    cal = fit_calibration(raw, y)
    assert cal.method == "platt"
    assert set(cal.selection) == {"platt", "isotonic", "z"}
    assert cal.selection["z"] <= 1.0


def test_auto_uses_isotonic_when_it_is_clearly_better():
    raw, y = _sample(20_000, "cubic", 5)
    cal = fit_calibration(raw, y)
    assert cal.method == "isotonic"
    assert cal.selection["isotonic"] < cal.selection["platt"]
    assert cal.selection["z"] > 1.0


def test_auto_is_deterministic():
    raw, y = _sample(5_000, "cubic", 6)
    assert fit_calibration(raw, y, seed=3) == fit_calibration(raw, y, seed=3)


def test_an_anti_correlated_score_gives_a_constant_not_a_decreasing_map():
    raw, y = _sample(3_000, "affine", 7)
    cal = fit_calibration(-raw, y, method="platt")
    assert cal.slope == 0.0
    assert np.allclose(cal.apply([-5.0, 0.0, 5.0]), y.mean(), atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-50, 50), min_size=1, max_size=50),
    st.sampled_from(["identity", "platt", "isotonic"]),
)
def test_apply_is_monotone_and_within_unit_interval(values, method):
    raw, y = _sample(600, "cubic", 8)
    cal = fit_calibration(raw, y, method=method)
    x = np.sort(np.asarray(values))
    p = cal.apply(x)
    assert np.all(np.diff(p) >= 0)
    assert np.all((p >= 0) & (p <= 1))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["affine", "cubic"]), st.integers(300, 5_000))
@example(3466, "affine", 3466)  # two PAV blocks of mean 1/3 one rounding error apart
def test_isotonic_never_turns_distinct_scores_into_ties(seed, kind, n):
    """Strictly increasing: the calibrated probability ranks exactly like the raw score."""
    raw, y = _sample(n, kind, seed)
    cal = fit_calibration(raw, y, method="isotonic")
    assert cal.tail_slope > 0
    x = np.linspace(-12.0, 12.0, 2_001)  # inside the knots, between them and beyond both ends
    assert np.all(np.diff(cal.apply(x)) > 0)
    p = cal.apply(raw)
    assert np.array_equal(np.argsort(p, kind="stable"), np.argsort(raw, kind="stable"))


def test_isotonic_knots_sit_at_the_pooled_blocks_means():
    raw = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([0, 1, 0, 1, 1, 1])  # PAV pools (1, 2) -> 0.5; the ends are clipped
    cal = fit_calibration(raw, y, method="isotonic")
    assert cal.knots_x == (0.0, 1.5, 4.0)
    assert cal.knots_y == (0.5 / 6, 0.5, 1 - 0.5 / 6)
    assert cal.apply([1.5, 2.75])[0] == 0.5  # linear between the knots
    assert cal.apply([2.75])[0] == pytest.approx((0.5 + 1 - 0.5 / 6) / 2)


def test_isotonic_from_an_older_artifact_keeps_its_end_values():
    stored = {
        "method": "isotonic",
        "slope": 1.0,
        "intercept": 0.0,
        "knots_x": [0.0, 1.0],
        "knots_y": [0.1, 0.6],
        "n_rows": 10,
        "n_positive": 3,
    }  # no tail_slope key
    cal = Calibration.from_dict(stored)
    assert cal.tail_slope == 0.0
    assert cal.apply([-5.0, 0.5, 7.0]).tolist() == [0.1, 0.35, 0.6]


@pytest.mark.parametrize("method", ["identity", "platt", "isotonic"])
def test_json_round_trip_is_exact(method):
    raw, y = _sample(3_000, "cubic", 9)
    cal = fit_calibration(raw, y, method=method)
    back = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert back == cal
    assert np.array_equal(back.apply(raw), cal.apply(raw))


def test_apply_keeps_nan_and_shape():
    cal = Calibration(method="platt", slope=1.0, intercept=0.0)
    out = cal.apply(np.array([[0.0, np.nan]]))
    assert out.shape == (1, 2)
    assert out[0, 0] == 0.5 and np.isnan(out[0, 1])


def test_inputs_are_not_modified():
    raw, y = _sample(3_000, "cubic", 11)
    raw_copy, y_copy = raw.copy(), y.copy()
    fit_calibration(raw, y)
    assert np.array_equal(raw, raw_copy) and np.array_equal(y, y_copy)


def test_bool_labels_are_accepted():
    raw, y = _sample(1_000, "affine", 12)
    assert fit_calibration(raw, y.astype(bool)) == fit_calibration(raw, y)


# --------------------------------------------------------------------------- errors


def test_unknown_method_is_rejected():
    with pytest.raises(TrainingError, match="unknown calibration method 'beta'"):
        fit_calibration([0.0, 1.0], [0, 1], method="beta")


def test_length_mismatch_is_rejected():
    with pytest.raises(TrainingError, match="3 scores but 2 labels"):
        fit_calibration([0.0, 1.0, 2.0], [0, 1])


def test_empty_input_is_rejected():
    with pytest.raises(TrainingError, match="got no rows"):
        fit_calibration([], [])


def test_non_finite_scores_are_rejected():
    with pytest.raises(TrainingError, match="1 non-finite raw scores"):
        fit_calibration([0.0, np.inf, 1.0], [0, 1, 1])


@pytest.mark.parametrize("labels", [[0, 2, 1], [0, np.nan, 1], ["a", "b", "a"]])
def test_labels_must_be_binary(labels):
    with pytest.raises(TrainingError, match="labels must be 0/1"):
        fit_calibration([0.0, 1.0, 2.0], labels)


def test_single_class_is_rejected():
    with pytest.raises(TrainingError, match="only class 1 in 3 rows"):
        fit_calibration([0.0, 1.0, 2.0], [1, 1, 1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "beta"}, "method='beta'"),
        ({"method": "platt", "slope": np.inf}, "must be finite"),
        ({"method": "platt", "slope": -1.0}, "slope=-1.0 is negative"),
        ({"method": "isotonic", "knots_x": (0.0, 1.0), "knots_y": (0.5,)}, "equally many"),
        ({"method": "isotonic", "knots_x": (0.0, np.nan), "knots_y": (0.1, 0.2)}, "finite"),
        ({"method": "isotonic", "knots_x": (1.0, 0.0), "knots_y": (0.1, 0.2)}, "strictly"),
        ({"method": "isotonic", "knots_x": (0.0, 1.0), "knots_y": (0.3, 0.2)}, "non-decreasing"),
        ({"method": "isotonic", "knots_x": (0.0, 1.0), "knots_y": (0.3, 1.2)}, "in \\[0, 1\\]"),
        ({"method": "platt", "knots_x": (0.0,), "knots_y": (0.1,)}, "takes no knots"),
        ({"method": "platt", "tail_slope": 1.0}, "takes no knots and no tail_slope"),
        (
            {"method": "isotonic", "knots_x": (0.0,), "knots_y": (0.1,), "tail_slope": -1.0},
            "tail_slope=-1.0 must be a finite number >= 0",
        ),
        (
            {"method": "isotonic", "knots_x": (0.0, 1.0), "knots_y": (0.0, 0.2), "tail_slope": 1},
            "end knots_y must lie strictly between 0 and 1; got 0.0 and 0.2",
        ),
    ],
)
def test_invalid_calibrations_are_rejected(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Calibration(**kwargs)


def test_from_dict_reports_missing_keys():
    data = Calibration.identity().to_dict()
    del data["slope"]
    with pytest.raises(ModelFormatError, match="missing key 'slope'"):
        Calibration.from_dict(data)


def test_from_dict_reports_invalid_values():
    data = Calibration.identity().to_dict() | {"slope": -2.0}
    with pytest.raises(ModelFormatError, match="stored calibration cannot be read.*negative"):
        Calibration.from_dict(data)
