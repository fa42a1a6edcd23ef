"""The data contract: every problem reported at once, normalised copies, mapping and file I/O."""

from __future__ import annotations

import copy
import doctest
from dataclasses import FrozenInstanceError, replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import govml.schema
from govml import ConfigError, ContractError, DataLoadError, GovmlError, MappingError
from govml.schema import (
    CHECKS,
    CONTRACT,
    TABLE_NAMES,
    TIMESTAMP_DTYPE,
    ColumnMapping,
    Problem,
    Tables,
    ValidationReport,
    check_tables,
    describe_contract,
    empty_table,
    load_tables,
    save_tables,
    validate_tables,
)

UTC = "datetime64[us, UTC]"


def with_table(tables: Tables, name: str, frame: pd.DataFrame) -> Tables:
    return replace(tables, **{name: frame})


def edit(tables: Tables, name: str, **columns) -> Tables:
    """A copy of ``tables`` whose table ``name`` has the given columns replaced."""
    return with_table(tables, name, tables[name].assign(**columns))


def set_value(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    """A copy of ``frame`` with one cell changed (the column becomes object if it must)."""
    out = frame.copy()
    try:
        out.loc[out.index[row], column] = value
    except (TypeError, ValueError):
        out[column] = out[column].astype(object)
        out.loc[out.index[row], column] = value
    return out


def problems_of(tables, **kwargs) -> list[tuple[str, str | None, str]]:
    return [(p.table, p.column, p.check) for p in check_tables(tables, **kwargs).problems]


def one_problem(tables, **kwargs) -> Problem:
    report = check_tables(tables, **kwargs)
    assert len(report.problems) == 1, str(report)
    return report.problems[0]


# --------------------------------------------------------------------------- valid tables


def test_valid_tables_pass_and_come_back_normalised(tiny_tables):
    report = check_tables(tiny_tables)
    assert report.ok and report.problems == ()
    assert report.n_rows == tiny_tables.n_rows()
    assert str(report).startswith("data contract: OK")

    out = validate_tables(tiny_tables)
    assert isinstance(out, Tables)
    for name, spec in CONTRACT.items():
        frame = out[name]
        assert list(frame.columns) == list(spec.column_names)
        for col in spec.columns:
            dtype = frame[col.name].dtype
            if col.kind == "string":
                assert dtype == "str", (name, col.name, dtype)
            elif col.kind == "int":
                assert dtype == np.int64
            elif col.kind == "float":
                assert dtype == np.float64
            elif col.kind == "bool":
                assert dtype == np.dtype("bool")
            elif col.kind == "timestamp":
                assert str(dtype) == TIMESTAMP_DTYPE
            else:
                assert isinstance(dtype, pd.CategoricalDtype)
                assert list(dtype.categories) == list(col.values)
                assert not dtype.ordered
    assert out.sessions["session_id"].tolist() == tiny_tables.sessions["session_id"].tolist()
    pd.testing.assert_series_equal(
        out.reviews["reason"].astype(object),
        tiny_tables.reviews["reason"].astype(object).where(lambda s: s.notna(), np.nan),
        check_names=False,
        check_dtype=False,
    )


def test_mapping_input_is_accepted_like_tables(tiny_tables):
    out = validate_tables(dict(tiny_tables.items()))
    assert out.n_rows() == tiny_tables.n_rows()


def test_validating_normalised_tables_is_a_no_op(tiny_tables):
    once = validate_tables(tiny_tables)
    twice = validate_tables(once)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(once[name], twice[name])


def test_enum_categories_are_the_contract_levels_whatever_the_source(tiny_tables):
    # a categorical with other levels and another order, and plain text, give one dtype
    market = pd.Categorical(["ID", "TH", "VN"], categories=["VN", "TH", "ID", "XX"])
    a = validate_tables(edit(tiny_tables, "creators", market=market))
    b = validate_tables(tiny_tables)
    assert a.creators["market"].dtype == b.creators["market"].dtype
    assert a.creators["market"].tolist() == ["ID", "TH", "VN"]


def test_lossless_coercions_are_accepted(tiny_tables):
    s = tiny_tables.sessions
    t = edit(
        tiny_tables,
        "sessions",
        viewers=s["viewers"].astype("float64"),  # integral floats
        likes=s["likes"].astype("int32"),
        gmv=s["gmv"].astype("float32"),
        orders=s["orders"].astype("Int64"),
        comments=s["comments"].astype(str),  # numeric text from CSV
    )
    t = edit(
        t,
        "creators",
        creator_id=pd.Series([1, 2, 3], dtype="int64"),  # integer ids become text
        is_business=["true", "False", "0"],
        onboarded_at=["2024-01-02T15:00:00+07:00", "2024-01-05T03:30:00Z", "2024-01-10T00:00Z"],
    )
    t = edit(t, "sessions", creator_id=["1", "1", "2", "2", "3", "3"])
    t = edit(t, "reviews", is_low_quality=[0, 1, 1, 0])
    t = edit(t, "actions", creator_id=["3", "3", "1"])
    t = edit(t, "violations", creator_id=["3", "3", "2"])
    out = validate_tables(t)
    assert out.sessions["viewers"].dtype == np.int64
    assert out.sessions["viewers"].tolist() == s["viewers"].tolist()
    assert out.sessions["comments"].tolist() == s["comments"].tolist()
    assert out.sessions["orders"].dtype == np.int64
    assert out.creators["creator_id"].tolist() == ["1", "2", "3"]
    assert out.creators["is_business"].tolist() == [True, False, False]
    assert out.creators["onboarded_at"].iloc[0] == pd.Timestamp("2024-01-02 08:00", tz="UTC")
    assert out.reviews["is_low_quality"].tolist() == [False, True, True, False]


def test_aware_timestamps_in_other_zones_are_converted_to_utc(tiny_tables):
    jakarta = tiny_tables.creators["onboarded_at"].dt.tz_convert("Asia/Jakarta")
    out = validate_tables(edit(tiny_tables, "creators", onboarded_at=jakarta.dt.as_unit("ns")))
    assert str(out.creators["onboarded_at"].dtype) == UTC
    assert out.creators["onboarded_at"].tolist() == tiny_tables.creators["onboarded_at"].tolist()


def test_arrow_backed_columns_are_accepted(tiny_tables):
    import pyarrow as pa

    s = tiny_tables.sessions
    t = edit(
        tiny_tables,
        "sessions",
        session_id=s["session_id"].astype(pd.ArrowDtype(pa.string())),
        viewers=s["viewers"].astype(pd.ArrowDtype(pa.int64())),
        gmv=s["gmv"].astype(pd.ArrowDtype(pa.float64())),
        started_at=s["started_at"].astype(pd.ArrowDtype(pa.timestamp("us", tz="UTC"))),
    )
    out = validate_tables(t)
    pd.testing.assert_frame_equal(out.sessions, validate_tables(tiny_tables).sessions)


def test_absent_optional_columns_are_added_all_null(tiny_tables):
    t = with_table(tiny_tables, "actions", tiny_tables.actions.drop(columns=["ends_at", "value"]))
    t = with_table(t, "violations", t.violations.drop(columns=["session_id"]))
    out = validate_tables(t)
    assert list(out.actions.columns) == list(CONTRACT["actions"].column_names)
    assert str(out.actions["ends_at"].dtype) == UTC and out.actions["ends_at"].isna().all()
    assert out.actions["value"].dtype == np.float64 and out.actions["value"].isna().all()
    assert out.violations["session_id"].dtype == "str"
    assert out.violations["session_id"].isna().all()


def test_extra_columns_are_kept_after_the_contract_columns(tiny_tables):
    t = edit(tiny_tables, "sessions", my_score=[1, 2, 3, 4, 5, 6], region=list("abcdef"))
    t = with_table(t, "sessions", t.sessions[["my_score", *t.sessions.columns[:-2], "region"]])
    out = validate_tables(t)
    assert list(out.sessions.columns[-2:]) == ["my_score", "region"]
    assert out.sessions["my_score"].tolist() == [1, 2, 3, 4, 5, 6]


def test_blank_strings_in_nullable_columns_become_null(tiny_tables):
    out = validate_tables(edit(tiny_tables, "actions", violation_id=["v1", " ", ""]))
    assert out.actions["violation_id"].isna().tolist() == [False, True, True]


@pytest.mark.parametrize("labels", [list("abcdef"), [0, 0, 1, 1, 2, 2]])
def test_index_is_kept(tiny_tables, labels):
    sessions = tiny_tables.sessions.set_axis(labels).assign(
        viewers=lambda f: f["viewers"].astype("float64")  # converted, so re-assigned
    )
    t = with_table(tiny_tables, "sessions", sessions)
    t = with_table(t, "actions", t.actions.drop(columns="ends_at").set_axis([7, 7, 7]))
    out = validate_tables(t)
    assert list(out.sessions.index) == labels
    assert out.sessions["viewers"].tolist() == tiny_tables.sessions["viewers"].tolist()
    assert list(out.actions.index) == [7, 7, 7] and out.actions["ends_at"].isna().all()


def test_event_tables_may_be_empty(tiny_tables):
    t = replace(tiny_tables, **{n: empty_table(n) for n in ("outcomes", "violations", "actions")})
    t = with_table(t, "reviews", tiny_tables.reviews.iloc[:0])  # user dtypes, no rows
    out = validate_tables(t)
    assert out.n_rows()["outcomes"] == 0 and out.n_rows()["reviews"] == 0
    assert isinstance(out.reviews["sample_reason"].dtype, pd.CategoricalDtype)


# --------------------------------------------------------------------------- never mutate


def test_inputs_are_not_mutated(tiny_tables):
    t = edit(
        tiny_tables,
        "sessions",
        viewers=tiny_tables.sessions["viewers"].astype("float64"),
        started_at=tiny_tables.sessions["started_at"].dt.tz_convert("Asia/Jakarta"),
    )
    t = edit(t, "creators", is_business=["true", "false", "true"])
    before = {name: frame.copy(deep=True) for name, frame in t.items()}
    out = validate_tables(t)
    check_tables(t)
    for name, frame in t.items():
        pd.testing.assert_frame_equal(frame, before[name])
    # writing into the result leaves the caller's frames alone (copy-on-write)
    out.sessions.loc[0, "gmv"] = -1.0
    out.sessions.iloc[1, out.sessions.columns.get_loc("session_id")] = "changed"
    out.creators.loc[0, "commission_rate"] = 0.99
    for name, frame in t.items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_results_are_frozen(tiny_tables):
    report = check_tables(tiny_tables)
    with pytest.raises(FrozenInstanceError):
        report.problems = ()  # type: ignore[misc]
    mapping = ColumnMapping()
    with pytest.raises(FrozenInstanceError):
        mapping.files = {}  # type: ignore[misc]


# --------------------------------------------------------------------------- each check


def test_missing_table(tiny_tables):
    frames = dict(tiny_tables.items())
    del frames["outcomes"]
    with pytest.raises(ContractError, match=r"(?s)outcomes \[missing_table\] table is missing"):
        validate_tables(frames)
    frames["outcomes"] = None
    assert problems_of(frames) == [("outcomes", None, "missing_table")]


def test_unknown_table_suggests_the_name(tiny_tables):
    frames = dict(tiny_tables.items()) | {"sesions": tiny_tables.sessions}
    with pytest.raises(
        ContractError, match=r"(?s)sesions \[unknown_table\].*did you mean 'sessions'"
    ):
        validate_tables(frames)


def test_not_a_frame(tiny_tables):
    frames = dict(tiny_tables.items()) | {"reviews": tiny_tables.reviews.to_dict("list")}
    with pytest.raises(
        ContractError, match=r"(?s)reviews \[not_a_frame\] expected a pandas DataFrame"
    ):
        validate_tables(frames)


def test_tables_of_the_wrong_type_raise():
    with pytest.raises(ContractError, match="expected govml.Tables or a mapping"):
        check_tables([pd.DataFrame()])


def test_duplicate_column_names(tiny_tables):
    s = tiny_tables.sessions
    doubled = pd.concat([s, s[["viewers"]]], axis=1)
    with pytest.raises(ContractError, match=r"(?s)sessions \[duplicate_column\].*'viewers'"):
        validate_tables(with_table(tiny_tables, "sessions", doubled))


def test_missing_required_column_suggests_a_close_name(tiny_tables):
    t = with_table(
        tiny_tables, "sessions", tiny_tables.sessions.rename(columns={"viewers": "Viewers"})
    )
    with pytest.raises(
        ContractError, match=r"(?s)sessions.viewers \[missing_column\].*the table has 'Viewers'"
    ):
        validate_tables(t)
    p = one_problem(t)
    assert p.n_failing == 6 and "ColumnMapping" in p.hint


@pytest.mark.parametrize("name", ["creators", "sessions"])
def test_creators_and_sessions_must_not_be_empty(tiny_tables, name):
    t = with_table(tiny_tables, name, tiny_tables[name].iloc[:0])
    with pytest.raises(ContractError, match=rf"(?s){name} \[empty_table\] the table has no rows"):
        validate_tables(t)


@pytest.mark.parametrize(
    ("table", "column", "value", "expected"),
    [
        ("sessions", "viewers", "lots", r"sessions.viewers \[dtype\].*'lots'"),
        ("sessions", "viewers", 3.5, r"sessions.viewers \[dtype\].*not whole numbers.*3.5"),
        ("sessions", "gmv", "12,50", r"sessions.gmv \[dtype\].*not a number.*'12,50'"),
        ("creators", "is_business", "maybe", r"creators.is_business \[dtype\].*'maybe'"),
        ("creators", "onboarded_at", "yesterday", r"onboarded_at \[dtype\].*ISO 8601"),
        ("sessions", "session_id", 7.0, r"sessions.session_id \[dtype\].*not text"),
    ],
)
def test_wrong_dtype(tiny_tables, table, column, value, expected):
    t = with_table(tiny_tables, table, set_value(tiny_tables[table], 1, column, value))
    with pytest.raises(ContractError, match="(?s)" + expected):
        validate_tables(t)


@pytest.mark.parametrize(
    ("table", "column", "values", "expected"),
    [
        ("sessions", "viewers", [True] * 6, r"true/false values; expected int"),
        ("sessions", "gmv", [True] * 6, r"true/false values; expected float"),
        ("creators", "creator_id", [1.0, 2.0, 3.0], r"numbers \(float64\) where text"),
        ("creators", "onboarded_at", [1.7e9, 1.7e9, 1.7e9], r"where timestamps are expected"),
        ("creators", "is_business", pd.to_datetime(["2024-01-01"] * 3, utc=True), "true/false"),
        ("creators", "market", [1, 2, 3], r"market \[dtype\].*where text labels are"),
        ("creators", "category", [1.5, 2.5, 3.5], r"where text labels are expected"),
        ("creators", "commission_rate", pd.to_timedelta([1, 2, 3], unit="s"), "expected float"),
    ],
)
def test_wrong_dtype_whole_column(tiny_tables, table, column, values, expected):
    t = edit(tiny_tables, table, **{column: values})
    with pytest.raises(ContractError, match="(?s)" + expected) as info:
        validate_tables(t)
    problem = info.value.problems[0]
    assert problem.check == "dtype" and problem.n_failing == len(tiny_tables[table])


def test_lossy_integers_are_a_dtype_problem(tiny_tables):
    big = 2**60 + 1
    t = edit(tiny_tables, "sessions", gmv=[big, 0, 0, 0, 0, 0])
    with pytest.raises(ContractError, match=r"(?s)gmv \[dtype\].*too large for float64"):
        validate_tables(t)
    t = edit(tiny_tables, "sessions", viewers=np.array([2**64 - 1, 0, 0, 0, 0, 0], dtype=np.uint64))
    with pytest.raises(ContractError, match=r"(?s)viewers \[dtype\].*beyond the int64 range"):
        validate_tables(t)


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("sessions", "viewers", np.nan),
        ("sessions", "creator_id", None),
        ("sessions", "creator_id", "  "),
        ("sessions", "ended_at", pd.NaT),
        ("creators", "market", None),
        ("reviews", "is_low_quality", None),
        ("violations", "resolved_at", None),
    ],
)
def test_null_in_a_required_column(tiny_tables, table, column, value):
    t = with_table(tiny_tables, table, set_value(tiny_tables[table], 0, column, value))
    key = CONTRACT[table].key
    first = tiny_tables[table][key].iloc[0]
    with pytest.raises(ContractError, match=rf"(?s){table}.{column} \[null\].*{key}={first}"):
        validate_tables(t)


def test_nulls_in_a_nullable_count_column_are_kept_as_int64_nullable():
    # no int column is nullable in the contract; the dtype rule still holds for one
    spec = govml.schema.ColumnSpec("n", "int", "count", nullable=True, min=0)
    assert govml.schema._target_dtype(spec) == "Int64"


def test_negative_counts(tiny_tables):
    t = with_table(tiny_tables, "sessions", set_value(tiny_tables.sessions, 2, "viewers", -3))
    with pytest.raises(
        ContractError, match=r"(?s)sessions.viewers \[bounds\].*>= 0; 1 below 0"
    ) as e:
        validate_tables(t)
    assert e.value.problems[0].examples == ("session_id=s3: viewers=-3",)


def test_shares_out_of_range_hint_at_percentages(tiny_tables):
    shares = tiny_tables.sessions["static_frame_share"] * 100
    p = one_problem(edit(tiny_tables, "sessions", static_frame_share=shares))
    assert (p.check, p.n_failing) == ("bounds", 5)
    assert "in [0, 1]" in p.message and "divide percentages by 100" in p.hint


def test_non_finite_money_is_out_of_bounds(tiny_tables):
    t = with_table(tiny_tables, "sessions", set_value(tiny_tables.sessions, 0, "gmv", np.inf))
    with pytest.raises(ContractError, match=r"(?s)sessions.gmv \[bounds\].*1 not finite"):
        validate_tables(t)


def test_duplicate_ids(tiny_tables):
    t = with_table(tiny_tables, "sessions", set_value(tiny_tables.sessions, 4, "session_id", "s1"))
    with pytest.raises(
        ContractError, match=r"(?s)session_id \[unique\] 2 of 6 rows.*'s1' appears 2"
    ):
        validate_tables(t)


def test_examples_of_rows_with_a_repeated_key_show_the_row(tiny_tables):
    s = set_value(tiny_tables.sessions, 4, "session_id", "s1")
    s = set_value(s, 4, "viewers", -1)
    report = check_tables(with_table(tiny_tables, "sessions", s))
    bounds = next(p for p in report.problems if p.check == "bounds")
    assert bounds.examples == ("session_id=s1 (row 4): viewers=-1",)


def test_end_before_start(tiny_tables):
    s = tiny_tables.sessions
    ended = s["ended_at"].where(s.index != 3, s["started_at"] - pd.Timedelta(hours=1))
    with pytest.raises(
        ContractError, match=r"(?s)sessions.ended_at \[order\].*ended_at is before started_at"
    ) as info:
        validate_tables(edit(tiny_tables, "sessions", ended_at=ended))
    assert info.value.problems[0].examples[0].startswith("session_id=s4: started_at=2024-02-04")


def test_resolution_before_detection(tiny_tables):
    v = tiny_tables.violations
    resolved = v["resolved_at"].where(v.index != 0, v["detected_at"] - pd.Timedelta(days=1))
    with pytest.raises(ContractError, match=r"(?s)violations.resolved_at \[order\]"):
        validate_tables(edit(tiny_tables, "violations", resolved_at=resolved))


def test_unknown_enum_value(tiny_tables):
    t = with_table(
        tiny_tables, "reviews", set_value(tiny_tables.reviews, 0, "sample_reason", "random audit")
    )
    with pytest.raises(
        ContractError,
        match=r"(?s)reviews.sample_reason \[enum\].*'random audit' \(1\).*allowed values: random_audit",
    ):
        validate_tables(t)


def test_unknown_level_of_a_categorical_input(tiny_tables):
    market = pd.Categorical(["ID", "XX", "VN"])
    p = one_problem(edit(tiny_tables, "creators", market=market))
    assert (p.check, p.examples) == ("enum", ("creator_id=c2: market='XX'",))


@pytest.mark.parametrize(
    ("table", "column", "row", "value", "ref"),
    [
        ("sessions", "creator_id", 0, "c99", "creators.creator_id"),
        ("reviews", "session_id", 1, "s404", "sessions.session_id"),
        ("outcomes", "session_id", 2, "s404", "sessions.session_id"),
        ("violations", "session_id", 1, "s404", "sessions.session_id"),
        ("violations", "creator_id", 1, "c404", "creators.creator_id"),
        ("actions", "violation_id", 2, "v404", "violations.violation_id"),
        ("actions", "creator_id", 0, "c404", "creators.creator_id"),
    ],
)
def test_orphan_foreign_keys(tiny_tables, table, column, row, value, ref):
    t = with_table(tiny_tables, table, set_value(tiny_tables[table], row, column, value))
    key = CONTRACT[table].key
    child = tiny_tables[table][key].iloc[row]
    with pytest.raises(
        ContractError,
        match=rf"(?s){table}.{column} \[foreign_key\] 1 of .* not found in {ref}.*"
        rf"{key}={child}: {column}='{value}'",
    ):
        validate_tables(t)


def test_naive_timestamps_are_rejected_without_a_timezone(tiny_tables):
    naive = tiny_tables.sessions["started_at"].dt.tz_localize(None)
    with pytest.raises(
        ContractError, match=r"(?s)sessions.started_at \[timezone\] 6 of 6 rows.*naive"
    ) as info:
        validate_tables(edit(tiny_tables, "sessions", started_at=naive))
    assert "assume_timezone" in info.value.problems[0].hint


def test_naive_iso_strings_are_rejected_without_a_timezone(tiny_tables):
    text = ["2024-01-02 08:00:00", "2024-01-05T03:30", "2024-01-10"]
    with pytest.raises(ContractError, match=r"(?s)creators.onboarded_at \[timezone\] 3 of 3 rows"):
        validate_tables(edit(tiny_tables, "creators", onboarded_at=text))


def test_mixed_naive_and_aware_values_are_rejected_even_with_assume_timezone(tiny_tables):
    text = ["2024-01-02T08:00:00Z", "2024-01-05 03:30:00", "2024-01-10T00:00:00+07:00"]
    t = edit(tiny_tables, "creators", onboarded_at=text)
    for tz in (None, "UTC"):
        with pytest.raises(
            ContractError, match=r"(?s)onboarded_at \[timezone\] 1 of 3 rows: mixed naive and"
        ):
            validate_tables(t, assume_timezone=tz)
    objects = pd.Series(
        [pd.Timestamp("2024-01-02 08:00", tz="UTC"), pd.Timestamp("2024-01-05"), None],
        dtype=object,
    )
    found = problems_of(edit(tiny_tables, "creators", onboarded_at=objects))
    assert found == [("creators", "onboarded_at", "timezone"), ("creators", "onboarded_at", "null")]
    objects[2] = pd.Timestamp("2024-01-10", tz="Asia/Jakarta")
    p = one_problem(edit(tiny_tables, "creators", onboarded_at=objects))
    assert (p.check, p.n_failing) == ("timezone", 1) and "mixed" in p.message


def test_object_columns_of_datetimes_are_converted(tiny_tables):
    objects = pd.Series(
        [
            pd.Timestamp("2024-01-02 15:00", tz="Asia/Jakarta"),
            pd.Timestamp("2024-01-05T03:30:00Z").to_pydatetime(),
            "2024-01-10T00:00:00Z",
        ],
        dtype=object,
    )
    out = validate_tables(edit(tiny_tables, "creators", onboarded_at=objects))
    assert out.creators["onboarded_at"].iloc[0] == pd.Timestamp("2024-01-02 08:00", tz="UTC")
    bad = objects.copy()
    bad[1] = 12345
    with pytest.raises(ContractError, match=r"(?s)onboarded_at \[dtype\].*neither text nor dates"):
        validate_tables(edit(tiny_tables, "creators", onboarded_at=bad))


def test_assume_timezone_localises_naive_values(tiny_tables):
    naive = tiny_tables.sessions["started_at"].dt.tz_localize(None)  # UTC wall times
    text = ["2024-01-02 15:00:00", "2024-01-05 10:30:00", "2024-01-10 07:00:00"]
    t = edit(tiny_tables, "sessions", started_at=naive - pd.Timedelta(hours=7))
    t = edit(t, "creators", onboarded_at=text)
    # as Jakarta (UTC+7) wall times, these are 7 hours *earlier* in UTC
    out = validate_tables(t, assume_timezone="Asia/Jakarta")
    expected = tiny_tables.sessions["started_at"] - pd.Timedelta(hours=14)
    assert out.sessions["started_at"].tolist() == expected.tolist()
    assert out.creators["onboarded_at"].tolist() == tiny_tables.creators["onboarded_at"].tolist()
    assert str(out.creators["onboarded_at"].dtype) == UTC
    # aware columns are left as they are
    assert out.sessions["ended_at"].tolist() == tiny_tables.sessions["ended_at"].tolist()


def test_local_times_in_a_daylight_saving_gap_are_reported(tiny_tables):
    text = ["2024-03-10 02:30:00", "2024-01-05 03:30:00", "2024-01-10 00:00:00"]
    t = edit(tiny_tables, "creators", onboarded_at=text)
    with pytest.raises(ContractError, match=r"(?s)onboarded_at \[timezone\].*do not exist or are"):
        validate_tables(t, assume_timezone="America/New_York")
    naive = pd.Series(pd.to_datetime(text))
    with pytest.raises(ContractError, match=r"(?s)onboarded_at \[timezone\].*daylight-saving"):
        validate_tables(edit(t, "creators", onboarded_at=naive), assume_timezone="US/Eastern")


def test_unknown_assume_timezone_is_a_config_error(tiny_tables):
    with pytest.raises(ConfigError, match=r"(?s)assume_timezone='Asia/Jakata' is not a timezone"):
        check_tables(tiny_tables, assume_timezone="Asia/Jakata")


def test_naive_but_all_null_optional_column_passes(tiny_tables):
    ends = pd.Series([pd.NaT] * 3, dtype="datetime64[us]")
    out = validate_tables(edit(tiny_tables, "actions", ends_at=ends))
    assert str(out.actions["ends_at"].dtype) == UTC


# --------------------------------------------------------------------------- all at once


def test_every_problem_in_every_table_is_reported_at_once(tiny_tables):
    s = set_value(tiny_tables.sessions, 1, "viewers", "lots")  # dtype problem ...
    s = set_value(s, 0, "creator_id", "c99")  # ... does not hide the FK problem
    s = set_value(s, 2, "viewers", -3)  # nor a bound on the same column
    r = set_value(tiny_tables.reviews, 0, "sample_reason", "random audit")
    c = tiny_tables.creators.drop(columns=["category"])
    v = set_value(tiny_tables.violations, 0, "severity", None)
    t = replace(tiny_tables, sessions=s, reviews=r, creators=c, violations=v)
    with pytest.raises(ContractError) as info:
        validate_tables(t)
    found = [(p.table, p.column, p.check) for p in info.value.problems]
    assert found == [
        ("creators", "category", "missing_column"),
        ("sessions", "creator_id", "foreign_key"),
        ("sessions", "viewers", "dtype"),
        ("sessions", "viewers", "bounds"),
        ("violations", "severity", "null"),
        ("reviews", "sample_reason", "enum"),
    ]
    message = str(info.value)
    assert message.startswith("data contract: 6 problems in creators, sessions, violations")
    for table, column, check in found:
        assert f"{table}.{column} [{check}]" in message
    assert "session_id=s1: creator_id='c99'" in message
    assert "session_id=s2: viewers='lots'" in message
    assert isinstance(info.value, GovmlError) and isinstance(info.value, ValueError)


def test_report_renders_and_exports(tiny_tables):
    t = with_table(tiny_tables, "sessions", set_value(tiny_tables.sessions, 2, "viewers", -3))
    report = check_tables(t)
    assert not report.ok and report.checks_failed == ("bounds",)
    frame = report.to_frame()
    assert frame.to_dict("records") == [
        {
            "table": "sessions",
            "column": "viewers",
            "check": "bounds",
            "n_failing": 1,
            "message": "values must be >= 0; 1 below 0",
            "examples": "session_id=s3: viewers=-3",
            "hint": "viewers cannot be negative; fix or drop the rows shown",
        }
    ]
    text = str(report)
    assert "1. sessions.viewers [bounds] 1 of 6 rows: values must be >= 0" in text
    assert "e.g. session_id=s3: viewers=-3" in text and "fix: viewers cannot be negative" in text
    assert ValidationReport(problems=(), n_rows={}).to_frame().empty
    assert set(frame["check"]) <= set(CHECKS)


def test_examples_are_capped_and_fall_back_to_row_labels(tiny_tables):
    s = tiny_tables.sessions.assign(viewers=-1).drop(columns=["session_id"])
    report = check_tables(with_table(tiny_tables, "sessions", s))
    bounds = next(p for p in report.problems if p.check == "bounds")
    assert bounds.n_failing == 6 and len(bounds.examples) == 5
    assert bounds.examples[0] == "row 0: viewers=-1"


# --------------------------------------------------------------------------- invariance

CORRUPTIONS = {
    "negative viewers": lambda t: with_table(
        t, "sessions", set_value(t.sessions, 2, "viewers", -4)
    ),
    "unknown market": lambda t: with_table(t, "creators", set_value(t.creators, 0, "market", "XX")),
    "orphan review": lambda t: with_table(
        t, "reviews", set_value(t.reviews, 1, "session_id", "s9")
    ),
    "duplicate id": lambda t: with_table(
        t, "sessions", set_value(t.sessions, 3, "session_id", "s1")
    ),
    "end before start": lambda t: edit(
        t, "sessions", ended_at=t.sessions["started_at"] - pd.Timedelta(minutes=1)
    ),
    "naive outcomes": lambda t: edit(
        t, "outcomes", occurred_at=t.outcomes["occurred_at"].dt.tz_localize(None)
    ),
    "dropped column": lambda t: with_table(t, "creators", t.creators.drop(columns="is_business")),
    "null status": lambda t: with_table(
        t, "violations", set_value(t.violations, 2, "status", None)
    ),
    "bad viewers": lambda t: with_table(t, "sessions", set_value(t.sessions, 0, "viewers", 1.5)),
}


def comparable(report: ValidationReport) -> list[tuple]:
    """A report without what legitimately depends on row order (which 5 examples)."""
    return [
        (p.table, p.column, p.check, p.message, p.n_failing, p.hint)
        + ((p.examples,) if p.n_failing <= 5 else ())
        for p in report.problems
    ]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_validation_is_invariant_to_column_and_row_order(tiny_tables, data):
    chosen = data.draw(st.sets(st.sampled_from(sorted(CORRUPTIONS))), label="corruptions")
    tables = tiny_tables
    for name in sorted(chosen):
        tables = CORRUPTIONS[name](tables)
    shuffled = {}
    for name, frame in tables.items():
        rows = data.draw(st.permutations(range(len(frame))), label=f"{name} rows")
        cols = data.draw(st.permutations(list(frame.columns)), label=f"{name} columns")
        shuffled[name] = frame.iloc[list(rows)][list(cols)]
    original, permuted = check_tables(tables), check_tables(shuffled)
    assert comparable(permuted) == comparable(original)
    assert permuted.n_rows == original.n_rows
    if original.ok:
        a, b = validate_tables(tables), validate_tables(shuffled)
        for name in TABLE_NAMES:
            pd.testing.assert_frame_equal(b[name].sort_index(), a[name].sort_index())


# --------------------------------------------------------------------------- mapping


def test_mapping_from_dict_and_yaml(tmp_path):
    data = {
        "files": {"sessions": "streams.csv"},
        "columns": {"sessions": {"stream_id": "session_id"}, "creators": None},
    }
    mapping = ColumnMapping.from_dict(data)
    assert mapping.files == {"sessions": "streams.csv"}
    assert mapping.columns == {"sessions": {"stream_id": "session_id"}}
    path = tmp_path / "mapping.yaml"
    path.write_text(
        "files:\n  sessions: streams.csv\ncolumns:\n  sessions:\n    stream_id: session_id\n"
    )
    assert ColumnMapping.from_yaml(path) == mapping
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert ColumnMapping.from_yaml(empty) == ColumnMapping()
    assert ColumnMapping.from_dict(None) == ColumnMapping()
    data["files"]["sessions"] = "changed.csv"  # the mapping holds its own copies
    assert mapping.files == {"sessions": "streams.csv"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"files": {"session": "x.csv"}}, r"files: names table 'session'.*did you mean 'sessions'"),
        ({"columns": {"reveiws": {}}}, r"columns: names table 'reveiws'"),
        (
            {"columns": {"sessions": {"views": "viewer"}}},
            r"maps 'views' onto 'viewer', which is not a column.*did you mean 'viewers'",
        ),
        (
            {"columns": {"sessions": {"a": "session_id", "b": "session_id"}}},
            r"maps both 'a' and 'b' onto 'session_id'",
        ),
        ({"colums": {}}, r"unknown mapping section\(s\) 'colums'"),
        ({"columns": ["sessions"]}, r"columns: expected a mapping.*got list"),
        ({"columns": {"sessions": {"a": 3}}}, r"expected 'their_column: contract_column'"),
        ({"files": {"sessions": 3}}, r"files: sessions: expected a file or folder name, got 3"),
        ("sessions", r"mapping: expected a mapping"),
    ],
)
def test_invalid_mappings(data, expected):
    with pytest.raises(MappingError, match="(?s)" + expected):
        ColumnMapping.from_dict(data)


def test_mapping_validates_on_direct_construction():
    with pytest.raises(MappingError, match="not a column of the creators contract"):
        ColumnMapping(columns={"creators": {"x": "nope"}})


def test_yaml_errors(tmp_path):
    with pytest.raises(DataLoadError, match="cannot read the column mapping"):
        ColumnMapping.from_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: [unclosed\n")
    with pytest.raises(MappingError, match="is not valid YAML"):
        ColumnMapping.from_yaml(bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("columns:\n  sessions:\n    stream: nope\n")
    with pytest.raises(MappingError, match=r"(?s)column mapping .*wrong.yaml: columns: sessions"):
        ColumnMapping.from_yaml(wrong)


def test_rename_errors_name_the_file_and_its_columns(tiny_tables):
    mapping = ColumnMapping(columns={"sessions": {"stream_id": "session_id"}})
    with pytest.raises(
        MappingError,
        match=r"(?s)names 'stream_id', absent from streams.csv; it has columns 'session_id', "
        r"'creator_id'",
    ):
        mapping.rename("sessions", tiny_tables.sessions, source="data/streams.csv")
    clash = tiny_tables.sessions.assign(stream_id="x")
    with pytest.raises(MappingError, match=r"(?s)already has a column 'session_id'"):
        mapping.rename("sessions", clash)


def test_mapping_apply_renames_in_memory_frames(tiny_tables):
    theirs = tiny_tables.sessions.rename(columns={"session_id": "stream_id", "viewers": "uv"})
    mapping = ColumnMapping(columns={"sessions": {"stream_id": "session_id", "uv": "viewers"}})
    frames = mapping.apply(with_table(tiny_tables, "sessions", theirs))
    out = validate_tables(frames)
    assert out.sessions["viewers"].tolist() == tiny_tables.sessions["viewers"].tolist()
    assert list(theirs.columns[:1]) == ["stream_id"]  # the input frame is untouched


# --------------------------------------------------------------------------- files


def test_save_then_load_parquet_round_trip(tiny_tables, tmp_path):
    valid = validate_tables(tiny_tables)
    folder = save_tables(valid, tmp_path / "world")
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.parquet" for n in TABLE_NAMES)
    loaded = load_tables(folder)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(loaded[name], valid[name])


def test_save_refuses_to_overwrite_unless_asked(tiny_tables, tmp_path):
    save_tables(tiny_tables, tmp_path)
    with pytest.raises(DataLoadError, match=r"(?s)already holds creators.parquet.*overwrite=True"):
        save_tables(tiny_tables, tmp_path)
    changed = edit(tiny_tables, "sessions", gmv=1.0)
    save_tables(changed, tmp_path, overwrite=True)
    assert load_tables(tmp_path).sessions["gmv"].eq(1.0).all()
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left


def test_save_errors(tiny_tables, tmp_path):
    (tmp_path / "reviews.csv").write_text("review_id\n")
    with pytest.raises(DataLoadError, match=r"(?s)also holds reviews.csv; a .parquet beside it"):
        save_tables(tiny_tables, tmp_path, overwrite=True)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(DataLoadError, match="is a file; save_tables needs a folder"):
        save_tables(tiny_tables, a_file)
    with pytest.raises(ContractError, match="'notes' is not one"):
        save_tables({"notes": pd.DataFrame()}, tmp_path / "x")
    with pytest.raises(ContractError, match="table creators is a list, not a DataFrame"):
        save_tables({"creators": [1, 2]}, tmp_path / "x")
    mixed = tiny_tables.creators.assign(note=pd.Series([1, "a", 2.5], dtype=object))
    with pytest.raises(
        DataLoadError, match=r"(?s)cannot write table creators to .*validate_tables"
    ):
        save_tables({"creators": mixed}, tmp_path / "y")
    assert not list((tmp_path / "y").iterdir())  # the temporary file was removed


def test_load_csv_tables(tiny_tables, tmp_path):
    for name, frame in tiny_tables.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    loaded = load_tables(tmp_path)
    valid = validate_tables(tiny_tables)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(loaded[name], valid[name])


def test_load_csv_keeps_text_ids_and_parses_naive_times_with_assume_timezone(tiny_tables, tmp_path):
    save_tables(tiny_tables, tmp_path)
    (tmp_path / "creators.parquet").unlink()
    (tmp_path / "creators.csv").write_text(
        "creator_id,market,category,onboarded_at,is_business,commission_rate\n"
        "c1,ID,beauty,2024-01-02 15:00:00,true,0.05\n"
        "c2,TH,fashion,2024-01-05 10:30:00,FALSE,0.04\n"
        "c3,VN,electronics,2024-01-10 07:00:00,false,0.06\n"
        "007,SG,home,2024-02-01 07:00:00,true,0.06\n"
    )
    raw = load_tables(tmp_path, validate=False)
    assert raw.creators["creator_id"].tolist()[-1] == "007"
    assert raw.creators["onboarded_at"].dtype == "str"  # parsed by the checks, not by read_csv
    report = check_tables(raw)
    assert report.checks_failed == ("timezone",)
    with pytest.raises(ContractError, match=r"(?s)creators.onboarded_at \[timezone\] 4 of 4 rows"):
        load_tables(tmp_path)
    out = load_tables(tmp_path, assume_timezone="Asia/Jakarta")
    assert (
        out.creators["onboarded_at"].tolist()[:3] == tiny_tables.creators["onboarded_at"].tolist()
    )
    assert out.creators["is_business"].tolist() == [True, False, False, True]


def test_load_with_mapping_of_files_and_columns(tiny_tables, tmp_path):
    save_tables(tiny_tables, tmp_path)
    (tmp_path / "sessions.parquet").unlink()
    export = tmp_path / "exports"
    export.mkdir()
    theirs = tiny_tables.sessions.rename(columns={"session_id": "stream_id", "creator_id": "host"})
    theirs.to_csv(export / "live_streams.csv", index=False)
    mapping = {
        "files": {"sessions": "exports/live_streams.csv"},
        "columns": {"sessions": {"stream_id": "session_id", "host": "creator_id"}},
    }
    out = load_tables(tmp_path, mapping=mapping)
    assert out.sessions["session_id"].tolist() == tiny_tables.sessions["session_id"].tolist()
    bad = ColumnMapping(files=mapping["files"], columns={"sessions": {"streamid": "session_id"}})
    with pytest.raises(
        MappingError, match=r"(?s)'streamid', absent from live_streams.csv.*'stream_id'"
    ):
        load_tables(tmp_path, mapping=bad)
    parquet_map = ColumnMapping(
        files=mapping["files"], columns={"creators": {"seller": "creator_id"}}
    )
    with pytest.raises(MappingError, match=r"(?s)'seller', absent from creators.parquet"):
        load_tables(tmp_path, mapping=parquet_map)


def test_load_a_folder_of_parquet_parts(tiny_tables, tmp_path):
    save_tables(tiny_tables, tmp_path)
    (tmp_path / "sessions.parquet").unlink()
    parts = tmp_path / "sessions"
    parts.mkdir()
    tiny_tables.sessions.iloc[:3].to_parquet(parts / "part-0.parquet", index=False)
    tiny_tables.sessions.iloc[3:].to_parquet(parts / "part-1.parquet", index=False)
    (parts / "_SUCCESS").write_text("")
    out = load_tables(tmp_path)
    assert sorted(out.sessions["session_id"]) == sorted(tiny_tables.sessions["session_id"])


def test_load_errors(tiny_tables, tmp_path):
    with pytest.raises(DataLoadError, match=r"(?s)no folder at .*nowhere"):
        load_tables(tmp_path / "nowhere")
    a_file = tmp_path / "f.parquet"
    a_file.write_text("x")
    with pytest.raises(DataLoadError, match="is a file; load_tables expects the folder"):
        load_tables(a_file)
    world = tmp_path / "world"
    save_tables(tiny_tables, world)
    (world / "outcomes.parquet").rename(world / "outcome.parquet")
    with pytest.raises(
        DataLoadError,
        match=r"(?s)missing tables: outcomes \(expected outcomes.parquet, outcomes.csv or outcomes/\)"
        r".*The folder holds actions.parquet, creators.parquet, outcome.parquet",
    ):
        load_tables(world)
    (world / "outcome.parquet").rename(world / "outcomes.parquet")
    tiny_tables.reviews.to_csv(world / "reviews.csv", index=False)
    with pytest.raises(
        DataLoadError,
        match=r"(?s)ambiguous tables: reviews has both reviews.parquet and reviews.csv",
    ):
        load_tables(world)
    with pytest.raises(DataLoadError, match=r"(?s)reviews \(the mapping names 'nope.csv'\)"):
        load_tables(world, mapping={"files": {"reviews": "nope.csv"}})
    (world / "reviews.csv").unlink()


def test_unreadable_files(tiny_tables, tmp_path):
    save_tables(tiny_tables, tmp_path)
    (tmp_path / "actions.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(DataLoadError, match=r"(?s)cannot read .*actions.parquet as parquet"):
        load_tables(tmp_path)
    (tmp_path / "actions.parquet").unlink()
    (tmp_path / "actions.csv").write_text("")
    with pytest.raises(DataLoadError, match=r"(?s)actions.csv is empty"):
        load_tables(tmp_path)
    (tmp_path / "actions.csv").write_bytes(b"action_id,creator_id\n\xff\xfe,\x00\n")
    with pytest.raises(DataLoadError, match=r"(?s)cannot read .*actions.csv as CSV"):
        load_tables(tmp_path)
    (tmp_path / "actions.csv").unlink()
    (tmp_path / "actions").mkdir()
    with pytest.raises(DataLoadError, match=r"(?s)folder .*actions holds no .parquet parts"):
        load_tables(tmp_path)
    (tmp_path / "actions").rmdir()
    (tmp_path / "acts.json").write_text("{}")
    with pytest.raises(DataLoadError, match=r"(?s)cannot tell the format of .*acts.json"):
        load_tables(tmp_path, mapping={"files": {"actions": "acts.json"}})


def test_load_rejects_a_bad_timezone_before_reading(tmp_path):
    with pytest.raises(ConfigError, match="not a timezone"):
        load_tables(tmp_path, assume_timezone="Mars/Olympus")


# --------------------------------------------------------------------------- docs


def test_describe_contract_lists_every_column():
    contract = describe_contract()
    assert list(contract.columns) == [
        "table",
        "column",
        "kind",
        "dtype",
        "required",
        "nullable",
        "constraints",
        "description",
        "known_at",
    ]
    assert len(contract) == sum(len(t.columns) for t in CONTRACT.values())
    assert contract.groupby("table")["known_at"].sum().eq(1).all()
    row = contract.set_index(["table", "column"]).loc[("sessions", "creator_id")]
    assert row["constraints"] == "references creators.creator_id"
    share = contract.set_index(["table", "column"]).loc[("sessions", "speech_share")]
    assert share["constraints"] == "in [0, 1]"
    market = contract.set_index(["table", "column"]).loc[("creators", "market")]
    assert market["constraints"] == "one of ID, MY, PH, SG, TH, VN"


def test_empty_table_has_contract_dtypes_and_rejects_unknown_names():
    frame = empty_table("sessions")
    assert list(frame.columns) == list(CONTRACT["sessions"].column_names)
    assert frame["viewers"].dtype == np.int64 and str(frame["ended_at"].dtype) == UTC
    with pytest.raises(ContractError, match="no table 'session'; the contract has creators"):
        empty_table("session")


def test_doctests_run():
    result = doctest.testmod(govml.schema, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10 and result.failed == 0


def test_inputs_survive_a_failed_validation(tiny_tables):
    t = with_table(tiny_tables, "sessions", set_value(tiny_tables.sessions, 2, "viewers", -3))
    before = copy.deepcopy(dict(t.items()))
    with pytest.raises(ContractError):
        validate_tables(t)
    for name, frame in t.items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_object_timestamps_with_nat_are_nulls_not_bad_text(tiny_tables):
    """pd.concat of aware timestamps and NaT gives an object column; NaT is a null."""
    actions = tiny_tables.actions.copy()
    values = [pd.Timestamp("2024-03-01", tz="UTC")] + [pd.NaT] * (len(actions) - 1)
    actions["ends_at"] = pd.Series(values, index=actions.index, dtype=object)
    valid = govml.schema.validate_tables(replace(tiny_tables, actions=actions))
    assert valid.actions["ends_at"].isna().sum() == len(actions) - 1
    assert valid.actions["ends_at"].iloc[0] == pd.Timestamp("2024-03-01", tz="UTC")
