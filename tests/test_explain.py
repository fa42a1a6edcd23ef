"""Exact explanations and reason codes: additivity, subsets, plots and stable codes."""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import govml
from govml._exceptions import ConfigError, UnseenCategoryError
from govml.explain import (
    Contributions,
    _distinct_rows,
    explain,
    group_contributions,
    importance_by_reason,
    reason_codes,
)
from govml.features.catalogue import REASON_GROUPS, catalogue
from govml.model import GovmlModel

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def trained():
    """A small low-quality model and the session features of every reviewed session."""
    from govml.training.config import default_config
    from govml.training.pipeline import build_training_data, train_task

    world = govml.simulate(n_creators=400, n_days=120, seed=1)
    cfg = default_config("low_quality").override({"model.num_boost_round": 50})
    model = train_task(world.tables, cfg, track=False).model
    data = build_training_data(world.tables, cfg)
    frame = data.frame.set_index("session_id")[list(model.feature_names)]
    return model, frame


@pytest.fixture(scope="module")
def categorical():
    """A small model whose score depends on two categorical features (the simulated
    low-quality label does not depend on market or category, so its model rarely splits
    on them)."""
    from govml.training.lgbm import fit_lightgbm

    rng = np.random.default_rng(7)
    n = 1500
    df = pd.DataFrame(
        {
            "report_rate": rng.gamma(1.0, 1.0, n),
            "market": pd.Categorical(rng.choice(["ID", "MY", "TH", "VN"], n)),
            "category": rng.choice(["beauty", "food", "home"], n),
        }
    )
    logit = -2 + df["report_rate"] + 1.5 * (df["market"] == "TH") - (df["category"] == "food")
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    fit = fit_lightgbm(
        df[:1000],
        df[1000:],
        features=["report_rate", "market", "category"],
        label="y",
        categorical=["market", "category"],
        num_threads=1,
        num_boost_round=40,
        params={"min_data_in_leaf": 20, "num_leaves": 7, "min_data_per_group": 20},
    )
    model = GovmlModel.from_fit(fit, task="low_quality", name="cat", thresholds={"review": 0.4})
    return model, df.drop(columns="y")


@pytest.fixture(scope="module")
def full(trained):
    model, frame = trained
    return explain(model, frame)


def test_contributions_add_up_to_the_raw_score_on_every_row(trained, full):
    model, frame = trained
    raw = model.predict_raw(frame)
    assert full.values.shape == (len(frame), len(model.feature_names))
    assert np.abs(full.base_value + full.values.sum(axis=1) - raw).max() < 1e-6
    assert np.abs(full.raw - raw).max() < 1e-6
    np.testing.assert_allclose(full.probability, model.predict_proba(frame), atol=1e-9)
    assert list(full.index) == list(frame.index)
    assert full.n_input == len(frame)


def test_categorical_features_are_explained_and_shown_by_label(categorical):
    model, frame = categorical
    full = explain(model, frame)
    raw = model.predict_raw(frame)
    assert np.abs(full.raw - raw).max() < 1e-6
    for name in ("market", "category"):  # both categorical splits are used
        assert np.abs(full.values[:, full.feature_names.index(name)]).sum() > 0
    j = full.feature_names.index("market")
    shown = full.display_data()[:, j]
    assert list(shown) == [str(v) for v in frame["market"]]
    long = full.to_frame()
    assert len(long) == len(frame) * len(model.feature_names)
    market = long[long["feature"] == "market"]
    assert market["display_value"].tolist() == list(shown)
    assert long["reason_group"].tolist()[:3] == ["VR", "MK", "AP"]
    np.testing.assert_array_equal(
        long["contribution"].to_numpy().reshape(full.values.shape), full.values
    )


def test_unseen_and_missing_levels_are_labelled(trained):
    model, frame = trained
    df = frame.head(3).astype({"market": object})
    df.iloc[0, df.columns.get_loc("market")] = "XX"
    df.iloc[1, df.columns.get_loc("market")] = None
    c = explain(model, df, unseen="allow")
    assert list(c.display_data()[:2, c.feature_names.index("market")]) == ["<unseen>", None]
    with pytest.raises(UnseenCategoryError, match="never seen in training"):
        explain(model, df, unseen="raise")


@pytest.mark.parametrize("which", ["simulated", "categorical"])
def test_shap_plots_render(which, full, categorical):
    import matplotlib.pyplot as plt
    import shap

    if which == "categorical":
        full = explain(*categorical)
    exp = full.to_shap()
    assert isinstance(exp, shap.Explanation)
    assert exp.values.shape == full.values.shape
    j = full.feature_names.index("category")
    assert exp.display_data[0, j] in full.levels["category"]
    np.testing.assert_allclose(exp.base_values + exp.values.sum(axis=1), full.raw, atol=1e-9)
    try:
        shap.plots.waterfall(exp[0], show=False)
        plt.close("all")
        shap.plots.beeswarm(exp, show=False)
        plt.close("all")
        shap.plots.bar(exp, show=False)
    finally:
        plt.close("all")


def test_subset_and_deduplication_give_bit_identical_values(trained, full):
    model, frame = trained
    mask = np.zeros(len(frame), dtype=bool)
    mask[::7] = True
    sub = explain(model, frame, rows=mask)
    np.testing.assert_array_equal(sub.values, full.values[mask])
    np.testing.assert_array_equal(sub.positions, np.flatnonzero(mask))
    assert list(sub.index) == list(frame.index[mask])
    plain = explain(model, frame, deduplicate=False)
    assert np.array_equal(plain.values, full.values)
    assert plain.base_value == full.base_value


def test_above_threshold_explains_exactly_the_tiered_rows(trained, full):
    model, frame = trained
    lowest = min(model.metadata.thresholds.values())
    keep = model.predict_proba(frame) >= lowest
    assert 0 < keep.sum() < len(frame)
    sub = explain(model, frame, rows="above_threshold")
    np.testing.assert_array_equal(sub.positions, np.flatnonzero(keep))
    np.testing.assert_array_equal(sub.values, full.values[keep])


def test_duplicate_rows_are_explained_once_with_identical_values(trained, full):
    model, frame = trained
    doubled = pd.concat([frame, frame.iloc[::-1]])
    c = explain(model, doubled)
    assert c.n_distinct == len(frame) and len(c) == 2 * len(frame)
    np.testing.assert_array_equal(c.values[: len(frame)], full.values)
    np.testing.assert_array_equal(c.values[len(frame) :], full.values[::-1])


def test_distinct_rows_survive_hash_collisions(monkeypatch):
    x = np.array([[1.0, np.nan], [2.0, 0.0], [1.0, np.nan], [2.0, -0.0], [2.0, 0.0]])
    first, codes = _distinct_rows(x)
    assert first.tolist() == [0, 1, 3] and codes.tolist() == [0, 1, 0, 2, 1]
    monkeypatch.setattr(pd.util, "hash_array", lambda a, **k: np.zeros(len(a), np.uint64))
    first2, codes2 = _distinct_rows(x)
    assert first2.tolist() == first.tolist() and codes2.tolist() == codes.tolist()


def test_column_order_does_not_matter_and_input_is_not_mutated(trained, full):
    model, frame = trained
    shuffled = frame[list(frame.columns[::-1])].assign(extra=1)
    before = shuffled.copy()
    c = explain(model, shuffled)
    np.testing.assert_array_equal(c.values, full.values)
    pd.testing.assert_frame_equal(shuffled, before)


def test_reason_codes_are_catalogue_codes_ranked_and_deterministic(full):
    codes = reason_codes(full, k=3)
    again = reason_codes(full, k=3)
    pd.testing.assert_frame_equal(codes, again)
    assert list(codes.columns) == [
        f"reason_{i}_{part}" for i in (1, 2, 3) for part in ("code", "text", "contribution")
    ]
    used = set(pd.concat([codes[f"reason_{i}_code"] for i in (1, 2, 3)]).dropna())
    assert used and used <= set(REASON_GROUPS)
    groups = group_contributions(full)
    np.testing.assert_allclose(groups.sum(axis=1), full.raw - full.base_value, atol=1e-9)
    for row in range(0, len(codes), 37):
        g = groups.iloc[row]
        positive = g[g > 0].sort_values(ascending=False, kind="stable")
        expect = list(positive.index[:3]) + [None] * max(0, 3 - len(positive))
        got = [codes.iloc[row][f"reason_{i}_code"] for i in (1, 2, 3)]
        assert got == expect
        for i, code in enumerate(got, start=1):
            if code is None:
                assert np.isnan(codes.iloc[row][f"reason_{i}_contribution"])
                continue
            assert codes.iloc[row][f"reason_{i}_contribution"] == pytest.approx(g[code])
            text = codes.iloc[row][f"reason_{i}_text"]
            assert text.startswith(REASON_GROUPS[code].sentence + " (mainly: ")
    first = codes["reason_1_contribution"].dropna()
    assert (first > 0).all() and (
        codes["reason_1_contribution"].fillna(np.inf) >= codes["reason_2_contribution"].fillna(0)
    ).all()


def test_reason_codes_do_not_depend_on_the_model_version(trained, full):
    """Codes come from the catalogue: another model on the same features speaks the same codes."""
    model, frame = trained
    other = explain(model, frame.head(50), catalogue=catalogue("low_quality"))
    assert other.reasons == full.reasons
    assert set(full.reasons.codes) <= set(REASON_GROUPS)


def test_features_missing_from_the_catalogue_are_their_own_group(trained, full):
    model, frame = trained
    head = full.values[:100]
    top = full.feature_names[int(np.argmax(head.clip(min=0).sum(axis=0)))]  # pushes up most
    cat = catalogue("low_quality")
    cat = cat[~cat["name"].isin([top, "market"])]
    c = explain(model, frame.head(100), catalogue=cat)
    assert set(c.reasons.codes[-2:]) == {"market", top}
    assert c.reasons.feature_groups[c.feature_names.index("market")] == "market"
    groups = group_contributions(c)
    np.testing.assert_array_equal(groups[top], c.values[:, c.feature_names.index(top)])
    r = reason_codes(c, k=len(c.reasons.codes))
    texts = pd.concat([r[col] for col in r.columns if col.endswith("_text")]).dropna()
    assert texts.str.startswith(f"{top} pushed the score up (mainly: {top} = ").any()
    # the same override applies after the fact, too
    pd.testing.assert_frame_equal(
        group_contributions(explain(model, frame.head(100)), catalogue=cat), groups
    )


def test_fewer_groups_than_k_keeps_every_column(trained):
    model, frame = trained
    cat = catalogue("low_quality").assign(reason_group="VR")
    c = explain(model, frame.head(20), catalogue=cat)
    r = reason_codes(c, k=2)
    assert r["reason_2_code"].isna().all() and r["reason_2_contribution"].isna().all()
    assert (r["reason_1_code"].dropna() == "VR").all()


def test_importance_by_reason_overall_and_per_market(full):
    overall = importance_by_reason(full)
    groups = group_contributions(full)
    expect = groups.abs().mean().sort_values(ascending=False, kind="stable")
    assert overall["reason_code"].tolist() == list(expect.index)
    np.testing.assert_allclose(overall["mean_abs_contribution"], expect.to_numpy())
    assert (overall["n_rows"] == len(full)).all()
    per_market = importance_by_reason(full, by="market")
    markets = full.display_data()[:, full.feature_names.index("market")]
    assert set(per_market["market"]) == set(markets)
    sg = per_market[per_market["market"] == "ID"].set_index("reason_code")
    is_id = markets == "ID"
    np.testing.assert_allclose(
        sg.loc[list(groups.columns), "mean_abs_contribution"],
        groups[is_id].abs().mean().to_numpy(),
    )
    by_array = importance_by_reason(full, by=pd.Series(markets, name="mkt"))
    assert (
        by_array["mean_abs_contribution"].tolist() == per_market["mean_abs_contribution"].tolist()
    )


def test_empty_selection(trained, full):
    model, frame = trained
    c = explain(model, frame, rows=np.zeros(len(frame), dtype=bool))
    assert c.values.shape == (0, len(model.feature_names)) and c.base_value == full.base_value
    assert len(reason_codes(c)) == 0
    assert importance_by_reason(c).empty


def test_invalid_arguments_raise(trained, full):
    model, frame = trained
    with pytest.raises(ConfigError, match="rows='some'; expected None"):
        explain(model, frame, rows="some")
    with pytest.raises(ConfigError, match="boolean mask with one entry per row"):
        explain(model, frame, rows=np.ones(3, dtype=bool))
    with pytest.raises(ConfigError, match="boolean mask with one entry per row"):
        explain(model, frame, rows=np.arange(len(frame)))
    bare = GovmlModel(model.booster, dataclasses.replace(model.metadata, thresholds={}))
    with pytest.raises(ConfigError, match="needs tier thresholds"):
        explain(bare, frame, rows="above_threshold")
    with pytest.raises(ConfigError, match="'name' and 'reason_group'"):
        explain(model, frame, catalogue=pd.DataFrame({"feature": ["x"]}))
    bad = catalogue("low_quality").assign(reason_group="ZZ")
    with pytest.raises(ConfigError, match=r"reason group\(s\) \['ZZ'\]"):
        reason_codes(full, catalogue=bad)
    with pytest.raises(ConfigError, match="k=0; expected a whole number"):
        reason_codes(full, k=0)
    with pytest.raises(ConfigError, match="expected the Contributions"):
        reason_codes(full.values)
    with pytest.raises(ConfigError, match="by='country' is not a model feature"):
        importance_by_reason(full, by="country")
    with pytest.raises(ConfigError, match="one value per explained row"):
        importance_by_reason(full, by=["ID", "TH"])


def test_contributions_is_frozen(full):
    assert isinstance(full, Contributions)
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.base_value = 0.0


def test_reason_text_names_the_strongest_feature_and_its_label(categorical):
    model, frame = categorical
    c = explain(model, frame)
    np.testing.assert_array_equal(c.probability, model.predict_proba(frame))
    r = reason_codes(c, k=3)
    for i in (1, 2, 3):
        mk = r[f"reason_{i}_code"] == "MK"
        expect = REASON_GROUPS["MK"].sentence + " (mainly: market of the creator = "
        got = r.loc[mk, f"reason_{i}_text"]
        labels = frame.loc[mk, "market"].astype(str)
        assert (got == expect + labels + ")").all()
    assert (r["reason_1_code"] == "MK").sum() > 0
    vr = r["reason_1_code"] == "VR"
    assert r.loc[vr, "reason_1_text"].str.contains(r"= \d", regex=True).all()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_subset_in_any_column_order_matches_the_full_explanation(categorical, data):
    model, frame = categorical
    full = explain(model, frame.head(300))
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=300, max_size=300)))
    columns = data.draw(st.permutations(list(frame.columns)))
    dedup = data.draw(st.booleans())
    sub = explain(model, frame.head(300)[columns], rows=mask, deduplicate=dedup)
    np.testing.assert_array_equal(sub.values, full.values[mask])
    np.testing.assert_array_equal(sub.raw, full.raw[mask])
