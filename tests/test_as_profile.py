"""One rule turns user input into a profile (unmask.profiles.as_profile), everywhere."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import unmask
from unmask import joints
from unmask.schedules import bounds as B
from unmask.schedules import families


def test_the_rule_one_axis_is_h_more_axes_are_a_law() -> None:
    h = np.array([0.7, 0.5, 0.2])
    assert unmask.as_profile(h).h.tolist() == h.tolist()
    assert unmask.as_profile(h).source == unmask.Profile.from_h(h).source
    law = joints.random(3, 2, seed=1)
    table = np.array(law.probs)
    assert np.array_equal(unmask.as_profile(table).h, unmask.profile(law).h)
    prof = unmask.Profile([0.3, 0.1])
    assert unmask.as_profile(prof) is prof


def test_every_profile_consumer_reads_a_plain_array_the_same_way() -> None:
    h = np.array([0.9, 0.6, 0.4, 0.3, 0.25, 0.2])
    prof = unmask.Profile.from_h(h)
    sched = [2, 3, 1]
    assert unmask.expected_kl(h, sched) == unmask.expected_kl(prof, sched)
    assert B.all_bounds(h, sched).exact == B.all_bounds(prof, sched).exact
    assert unmask.optimal_schedule(h, 3) == unmask.optimal_schedule(prof, 3)
    fr_h, fr_prof = unmask.optimal_frontier(h, 4), unmask.optimal_frontier(prof, 4)
    assert np.array_equal(fr_h.costs, fr_prof.costs)
    assert families.get("sqrt", h, 3) == families.get("sqrt", prof, 3)
    assert B.tc_bound(h, sched) == B.tc_bound(prof, sched)


def test_a_two_point_law_is_never_silently_an_h_curve_and_vice_versa() -> None:
    # all_bounds(np.array([.25, .75]), [2]) returned an exact KL of -0.5 with every bound "held"
    with pytest.raises(ValueError, match="not non-increasing"):
        B.all_bounds(np.array([0.25, 0.75]), [2])
    with pytest.raises(ValueError, match="not non-increasing"):
        unmask.expected_kl(np.array([0.25, 0.75]), [2])
    # unmask.profile([2.0, 1.0, 0.5]) advised normalize=True, reading an h curve as a law
    with pytest.raises(ValueError, match=r"Profile.from_h\(h\)") as info:
        unmask.profile([2.0, 1.0, 0.5])
    assert "normalize=True" not in str(info.value)
    one_variable = unmask.profile(unmask.Joint([0.25, 0.75]))  # a law on [2]^1, said explicitly
    assert one_variable.n == 1


def test_project_and_plain_say_what_they_did() -> None:
    h = np.array([0.2, 0.9, 0.1])
    proj = unmask.expected_kl(h, [3], nonmonotone="project")
    assert proj == pytest.approx(unmask.expected_kl(unmask.Profile(h).monotone(), [3]))
    table = B.all_bounds(h, [3], nonmonotone="project")
    assert table.exact == pytest.approx(proj)
    assert all(r.holds for r in table if r.kind == "rigorous")
    plain = B.all_bounds(h, [3], nonmonotone="plain")
    assert all(r.holds is None for r in plain)
    with pytest.raises(ValueError, match="nonmonotone must be one of"):
        unmask.expected_kl(h, [3], nonmonotone="ignore")


@given(
    st.lists(st.floats(0.0, 3.0), min_size=1, max_size=12),
    st.data(),
)
@example([0.25, 0.75], None)
def test_no_negative_kl_is_ever_reported(values: list[float], data) -> None:
    h = np.array(values)
    n = h.size
    k = 1 if data is None else data.draw(st.integers(1, n))
    sched = unmask.Schedule.constant(n, k)
    try:
        value = unmask.expected_kl(h, sched)
    except ValueError as exc:
        assert "not non-increasing" in str(exc)
        assert not unmask.Profile(h).is_monotone
        return
    assert value >= 0.0
    table = B.all_bounds(h, sched)
    assert all(r.holds for r in table if r.kind == "rigorous")
