"""The embedded verification suite behind ``unmask verify`` (issue 6).

For a fixed list of laws (closed-form laws, random laws, a Markov chain, an Ising model, a
mixture of products and the digit-patch law) the suite computes the exact profile, builds the
schedule families at a few step counts ``K``, computes the exact expected KL of random-order
sampling (theory section 5), the exact KL of the random-order law itself where enumeration is
affordable (section 8), every bound of section 6, and compares all of it with the closed forms
of section 9 and with identities that must hold for every law. Nothing is compared with a
number produced by the code under test.

A check whose ingredient is missing from this build (for example the sampler-law engine) is
reported as *skipped* with the reason, never as passed.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

import unmask
from unmask.laws import joints
from unmask.laws.joint import Joint
from unmask.profiles.profile import Profile
from unmask.schedules import cost as _cost
from unmask.schedules.schedule import Schedule

__all__ = [
    "FAMILIES",
    "Case",
    "Check",
    "LawReport",
    "LawSpec",
    "VerifyResult",
    "default_suite",
    "verify",
]

#: Schedule families the suite evaluates, in display order.
FAMILIES: tuple[str, ...] = (
    "constant",
    "cosine",
    "geometric-unmasked",
    "geometric-masked",
    "sqrt",
    "optimal",
)

#: Relative tolerance of the equality checks against closed forms.
RTOL = 1e-9
#: Absolute tolerance (nats) of the equality checks against closed forms.
ATOL = 1e-9

ProgressCallback = Callable[[str, int, int], None]


class _Missing(Exception):
    """An ingredient of a check is not available in this build."""


# -------------------------------------------------------------------------------------------
# Result objects
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One verified statement.

    Attributes
    ----------
    law : str
        Name of the law (or of the profile) the check is about.
    name : str
        What is checked, e.g. ``"E KL = (s_1 - 1) log q"`` or ``"bound dimension_free"``.
    kind : str
        ``"closed-form"`` (a formula of theory section 9), ``"bound"`` (a rigorous bound of
        section 6 must be >= the exact value) or ``"identity"`` (a relation every law satisfies:
        Han's inequality, convexity of KL, the K = 1 and s = 1 limits, optimality, ...).
    status : str
        ``"pass"``, ``"fail"`` or ``"skipped"`` (an ingredient is missing; never counted as
        passed).
    value : float or None
        The computed quantity.
    reference : float or None
        What it is compared with.
    relation : str
        How ``value`` must relate to ``reference``: ``"=="`` (within the tolerance) or ``"<="``.
    schedule : str or None
        Schedule family, when the check is about one schedule.
    steps : int or None
        Number of steps ``K`` of that schedule.
    detail : str
        Source of the reference, or why the check was skipped.
    """

    law: str
    name: str
    kind: str
    status: str
    value: float | None = None
    reference: float | None = None
    relation: str = ""
    schedule: str | None = None
    steps: int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite floats become the strings ``"inf"``, ``"nan"``)."""
        return {
            "law": self.law,
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "value": _json_float(self.value),
            "reference": _json_float(self.reference),
            "relation": self.relation,
            "schedule": self.schedule,
            "steps": self.steps,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class BoundValue:
    """One bound evaluated on one schedule (as reported by :mod:`unmask.bounds`).

    Attributes
    ----------
    name : str
        Bound family.
    value : float
        Its value (same unit as the profile).
    kind : str
        ``"rigorous"`` (must hold), ``"reference"`` (order of magnitude) or ``"prediction"``.
    holds : bool or None
        Whether ``value >= exact expected KL`` (None when not applicable).
    source : str
        Where the bound comes from.
    """

    name: str
    value: float
    kind: str
    holds: bool | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "name": self.name,
            "value": _json_float(self.value),
            "kind": self.kind,
            "holds": self.holds,
            "source": self.source,
        }


@dataclass(frozen=True)
class Case:
    """One (law, schedule family, K) evaluation.

    Attributes
    ----------
    law, family : str
        The law and the schedule family.
    steps : int
        Requested number of steps ``K``.
    sizes : tuple of int or None
        The schedule's per-step counts (None when the family is unavailable).
    expected_kl : float or None
        Exact ``E_sigma KL(p || q_sigma)`` (random order, exact conditionals; section 5).
    mixture_kl : float or None
        Exact ``KL(p || qbar)`` of the random-order law (section 8), when it was computed.
    bounds : tuple of BoundValue
        Every bound of section 6 on this schedule.
    note : str
        Why something is missing, if it is.
    """

    law: str
    family: str
    steps: int
    sizes: tuple[int, ...] | None
    expected_kl: float | None
    mixture_kl: float | None = None
    bounds: tuple[BoundValue, ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "law": self.law,
            "family": self.family,
            "steps": self.steps,
            "sizes": None if self.sizes is None else list(self.sizes),
            "expected_kl": _json_float(self.expected_kl),
            "mixture_kl": _json_float(self.mixture_kl),
            "bounds": [b.to_dict() for b in self.bounds],
            "note": self.note,
        }


@dataclass(frozen=True)
class LawReport:
    """Per-law summary: the exact profile and the error-vs-K curves used by the plots.

    Attributes
    ----------
    name, description : str
        The law.
    n, q : int
        Length and alphabet size (``q = 0`` for a profile given without a law).
    profile : Profile
        Its exact profile.
    seconds : float
        Wall time spent on this law.
    curves : dict
        ``"K"``: the step counts 1..n (capped); ``"families"``: family -> exact expected KL per
        K (None where the family has no K-step schedule); ``"optimal"``: the optimal cost per K
        (or None); ``"bounds"``: bound name -> value per K for the constant schedule;
        ``"bound_kinds"``: bound name -> kind.
    """

    name: str
    description: str
    n: int
    q: int
    profile: Profile
    seconds: float
    curves: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (profile as ``h`` and ``f`` lists)."""
        curves = {
            "K": list(self.curves.get("K", [])),
            "families": {
                k: [_json_float(v) for v in vals]
                for k, vals in self.curves.get("families", {}).items()
            },
            "optimal": None
            if self.curves.get("optimal") is None
            else [_json_float(v) for v in self.curves["optimal"]],
            "bounds": {
                k: [_json_float(v) for v in vals]
                for k, vals in self.curves.get("bounds", {}).items()
            },
            "bound_kinds": dict(self.curves.get("bound_kinds", {})),
        }
        if "planners" in self.curves:
            pl = self.curves["planners"]
            curves["planners"] = {
                "K": list(pl["K"]),
                "strategies": {k: [_json_float(v) for v in vals]
                               for k, vals in pl["strategies"].items()},
            }
        if "adaptive" in self.curves:
            ad = self.curves["adaptive"]
            curves["adaptive"] = {
                "K": list(ad["K"]),
                "rules": {r: [_json_float(v) for v in vals] for r, vals in ad["rules"].items()},
                "threshold": [{k: _json_float(v) for k, v in row.items()}
                              for row in ad["threshold"]],
            }
        return {
            "name": self.name,
            "description": self.description,
            "n": self.n,
            "q": self.q,
            "unit": self.profile.unit,
            "entropy": self.profile.entropy,
            "tc": self.profile.tc,
            "dtc": self.profile.dtc,
            "h": self.profile.h.tolist(),
            "f": self.profile.f.tolist(),
            "seconds": self.seconds,
            "curves": curves,
        }


class VerifyResult:
    """Outcome of :func:`verify`.

    Attributes
    ----------
    laws : list of LawReport
        One per law (and per profile-only case such as the section-9 DP sanity check).
    cases : list of Case
        Every (law, family, K) evaluation.
    checks : list of Check
        Every verified statement, passed, failed or skipped.
    missing : list of str
        Ingredients that are not available in this build (their checks are skipped).
    elapsed : float
        Wall time in seconds.
    quick : bool
        Whether the quick settings were used.
    """

    def __init__(
        self,
        laws: list[LawReport],
        cases: list[Case],
        checks: list[Check],
        missing: list[str],
        elapsed: float,
        quick: bool,
    ) -> None:
        self.laws = laws
        self.cases = cases
        self.checks = checks
        self.missing = missing
        self.elapsed = elapsed
        self.quick = quick

    @property
    def ok(self) -> bool:
        """True when no check failed (skipped checks are not failures, and not passes)."""
        return not self.violations

    @property
    def violations(self) -> list[Check]:
        """The failed checks: a violated rigorous bound, a wrong closed form, a broken identity."""
        return [c for c in self.checks if c.status == "fail"]

    @property
    def passed(self) -> list[Check]:
        """The checks that passed."""
        return [c for c in self.checks if c.status == "pass"]

    @property
    def skipped(self) -> list[Check]:
        """The checks that could not run (an ingredient is missing)."""
        return [c for c in self.checks if c.status == "skipped"]

    def counts(self) -> dict[str, int]:
        """Count the passed, failed and skipped checks."""
        return {
            "pass": len(self.passed),
            "fail": len(self.violations),
            "skipped": len(self.skipped),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the whole result as JSON-ready nested dicts and lists (no NaN/inf numbers)."""
        return {
            "ok": self.ok,
            "quick": self.quick,
            "elapsed_s": self.elapsed,
            "counts": self.counts(),
            "missing": list(self.missing),
            "version": unmask.__version__,
            "laws": [law.to_dict() for law in self.laws],
            "cases": [case.to_dict() for case in self.cases],
            "checks": [check.to_dict() for check in self.checks],
        }

    def __repr__(self) -> str:
        c = self.counts()
        head = (
            f"VerifyResult({'OK' if self.ok else 'FAILED'}: {c['pass']} passed, "
            f"{c['fail']} failed, {c['skipped']} skipped; {len(self.laws)} laws, "
            f"{len(self.cases)} cases, {self.elapsed:.1f} s)"
        )
        lines = [head]
        for v in self.violations[:10]:
            lines.append(f"  FAIL {v.law}: {v.name} ({_describe(v)})")
        if len(self.violations) > 10:
            lines.append(f"  ... and {len(self.violations) - 10} more failures")
        if self.missing:
            lines.append("  missing: " + "; ".join(self.missing))
        return "\n".join(lines)


def _describe(c: Check) -> str:
    if c.value is None or c.reference is None:
        return c.detail
    return f"{c.value:.6g} {c.relation} {c.reference:.6g} expected; {c.detail}".rstrip("; ")


def _json_float(x: float | None) -> float | str | None:
    if x is None:
        return None
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


# -------------------------------------------------------------------------------------------
# The suite
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LawSpec:
    """A law of the suite.

    Attributes
    ----------
    name : str
        Short name shown in tables.
    build : callable
        ``() -> Joint`` (a dense law: every check), or ``() -> Profile`` (a profile at a real
        length: schedules, errors from the identity, bounds).
    description : str
        One line.
    closed_form : str or None
        Key of the closed forms of theory section 9 that apply (``"all-equal"``, ``"parity"``,
        ``"independent"``, ``"copy-pair"``), or None.
    needs : str or None
        Optional ingredient the builder needs (``"datasets"``, ``"markov_profile"``).
    q : int
        Alphabet size when ``build`` returns a profile.
    ks : tuple of int
        Step counts for this law (default: the suite's).
    markov_transition : tuple or None
        Transition matrix of a Markov-chain law (to check :func:`unmask.markov_profile`).
    """

    name: str
    build: Callable[[], Joint | Profile]
    description: str
    closed_form: str | None = None
    needs: str | None = None
    q: int = 0
    ks: tuple[int, ...] = ()
    markov_transition: tuple[tuple[float, ...], ...] | None = None


def _copy_pair() -> Joint:
    """X_0 = X_1 a fair bit, X_2 an independent fair bit (theory section 9)."""
    p = np.zeros((2, 2, 2))
    p[0, 0, :] = 0.25
    p[1, 1, :] = 0.25
    return Joint(p)


def _ising_grid(side: int, coupling: float) -> Joint:
    n = side * side
    J = np.zeros((n, n))
    for r in range(side):
        for c in range(side):
            v = r * side + c
            if c + 1 < side:
                J[v, v + 1] = J[v + 1, v] = coupling
            if r + 1 < side:
                J[v, v + side] = J[v + side, v] = coupling
    return joints.ising(J)


STICKY = ((0.9, 0.1), (0.1, 0.9))


def _sticky_markov(n: int) -> Joint:
    return joints.markov_chain(np.array(STICKY), n)


def _long_markov(n: int) -> Profile:
    mod = importlib.import_module("unmask")
    prof: Profile = mod.markov_profile(np.array(STICKY), n, threads=1)
    return prof


def _mixture(n: int, components: int, seed: int) -> Joint:
    rng = np.random.default_rng(seed)
    on = rng.uniform(0.05, 0.95, size=(components, n))
    comp = np.stack([on, 1.0 - on], axis=-1)
    return joints.mixture_of_products(np.full(components, 1.0 / components), comp)


def _independent(n: int, q: int, seed: int) -> Joint:
    rng = np.random.default_rng(seed)
    return joints.independent(rng.dirichlet(np.ones(q), size=n))


def _digit_patches() -> Joint:
    datasets = importlib.import_module("unmask.laws.datasets")
    jt: Joint = datasets.digit_patches()
    return jt


def default_suite(quick: bool = False) -> list[LawSpec]:
    """List the laws of the embedded suite (smaller ones when ``quick``).

    Parameters
    ----------
    quick : bool
        Use the small settings (seconds instead of about a minute).

    Returns
    -------
    list of LawSpec
        In display order.

    Examples
    --------
    >>> [s.name for s in default_suite(quick=True)][:3]
    ['all-equal', 'parity', 'independent']
    """
    n = 6 if quick else 12
    random_laws = [(5, 2, 0.3, 0), (4, 3, 0.5, 1)] if quick else [
        (10, 2, 0.3, 0), (12, 2, 1.0, 1), (7, 3, 0.3, 2), (8, 3, 0.5, 3), (6, 4, 0.3, 4),
        (11, 2, 0.1, 5),
    ]
    long_n = 200 if quick else 2000
    specs = [
        LawSpec("all-equal", lambda: joints.all_equal(n, 2), f"X_0 = ... = X_{n - 1}, q=2",
                "all-equal"),
        LawSpec("parity", lambda: joints.parity(n), f"even parity on {{0,1}}^{n}", "parity"),
        LawSpec("independent", lambda: _independent(n, 2, 1),
                "independent, Dirichlet marginals", "independent"),
        LawSpec("copy-pair", _copy_pair, "X_0 = X_1 fair bit, X_2 independent fair bit",
                "copy-pair"),
        LawSpec("all-equal q=3", lambda: joints.all_equal(4 if quick else 8, 3),
                "X_0 = ... = X_{n-1}, q=3", "all-equal"),
    ]
    for idx, (rn, rq, conc, seed) in enumerate(random_laws, start=1):
        specs.append(LawSpec(
            f"random-{idx}",
            functools.partial(joints.random, rn, rq, conc, seed=seed),
            f"Dirichlet({conc}) weights on [{rq}]^{rn}, seed {seed}",
        ))
    specs += [
        LawSpec("markov", lambda: _sticky_markov(8 if quick else 12),
                "binary Markov chain, stay prob 0.9", markov_transition=STICKY),
        LawSpec(f"markov n={long_n}", lambda: _long_markov(long_n),
                "the same chain at a real length (profile only)", needs="markov_profile", q=2,
                ks=(4, 16, 64)),
        LawSpec("ising", lambda: _ising_grid(3 if quick else 4, 0.4),
                "Ising grid, coupling 0.4"),
        LawSpec("mixture", lambda: _mixture(8 if quick else 12, 3, 2),
                "mixture of 3 product laws"),
        LawSpec("digit-patches", _digit_patches, "binarized 4x4 patches of sklearn digits",
                needs="datasets"),
    ]
    return specs


# -------------------------------------------------------------------------------------------
# Optional ingredients (other parts of the library)
# -------------------------------------------------------------------------------------------
def _optional_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


class _Ingredients:
    """The optional parts of the library the suite uses, found at run time."""

    def __init__(self) -> None:
        self.sampler_law: Any = getattr(unmask, "sampler_law", None)
        self.kl: Any = getattr(unmask, "kl", None)
        self.optimal_schedule: Any = getattr(unmask, "optimal_schedule", None)
        self.optimal_frontier: Any = getattr(unmask, "optimal_frontier", None)
        self.markov_profile: Any = getattr(unmask, "markov_profile", None)
        self.schedules = _optional_module("unmask.schedules.families")
        self.bounds = _optional_module("unmask.schedules.bounds")
        self.datasets = _optional_module("unmask.laws.datasets")

    def missing(self) -> list[str]:
        out = []
        if self.sampler_law is None or self.kl is None:
            out.append("unmask.sampler_law / unmask.kl (exact random-order law)")
        if self.optimal_schedule is None:
            out.append("unmask.optimal_schedule (schedule solver)")
        if self.optimal_frontier is None:
            out.append("unmask.optimal_frontier (schedule solver)")
        if self.schedules is None:
            out.append("unmask.schedules (schedule families)")
        if self.bounds is None:
            out.append("unmask.bounds (bounds of section 6)")
        if self.markov_profile is None:
            out.append("unmask.markov_profile (Markov profiles at any length)")
        if self.datasets is None:
            out.append("unmask.datasets (digit-patch law)")
        return out

    # -- schedules --------------------------------------------------------------------------
    def schedule(self, family: str, prof: Profile, steps: int,
                 threads: int | None = 1) -> Schedule:
        """Build the ``steps``-step schedule of ``family`` for ``prof`` (raises _Missing)."""
        n = prof.n
        if family == "constant":
            return Schedule.constant(n, steps)
        if family == "optimal":
            if self.optimal_schedule is None:
                raise _Missing("needs unmask.optimal_schedule")
            sched: Schedule = self.optimal_schedule(prof, steps, threads=threads)
            return sched
        if self.schedules is None:
            raise _Missing("needs unmask.schedules")
        return _family_schedule(self.schedules, family, prof, steps)

    # -- bounds -----------------------------------------------------------------------------
    def bounds_of(self, prof: Profile, sched: Schedule, q: int) -> list[BoundValue]:
        if self.bounds is None:
            raise _Missing("needs unmask.bounds")
        table = _call_all_bounds(self.bounds, prof, sched, q)
        return [_as_bound_value(row) for row in _rows_of(table)]

    # -- the exact random-order law --------------------------------------------------------
    def mixture_kl(self, joint: Joint, sched: Schedule, threads: int | None) -> float:
        if self.sampler_law is None or self.kl is None:
            raise _Missing("needs unmask.sampler_law and unmask.kl")
        law = self.sampler_law(joint, sched, order="random", threads=threads)
        return float(self.kl(joint, law))

    def order_kl(self, joint: Joint, sched: Schedule, order: Sequence[int]) -> float:
        if self.sampler_law is None or self.kl is None:
            raise _Missing("needs unmask.sampler_law and unmask.kl")
        law = self.sampler_law(joint, sched, order=list(order), threads=1)
        return float(self.kl(joint, law))


#: The suite's family names -> keys of :data:`unmask.schedules.FAMILIES`.
FAMILY_KEYS = {
    "cosine": "cosine",
    "geometric-unmasked": "dtc",
    "geometric-masked": "tc",
    "sqrt": "sqrt",
}


def _family_schedule(module: ModuleType, family: str, prof: Profile, steps: int) -> Schedule:
    """Adapter from the suite's family names to :func:`unmask.schedules.get`."""
    sched = module.get(FAMILY_KEYS.get(family, family), prof, steps)
    if not isinstance(sched, Schedule):
        raise ValueError(f"family {family!r} gives a law over schedules, not one schedule")
    return sched


def _call_all_bounds(module: ModuleType, prof: Profile, sched: Schedule, q: int) -> Any:
    """``all_bounds`` on the profile, plus the ``(s_max - 1) log q`` row when q is known.

    The profile is passed rather than the joint so that the exact profile is not recomputed
    for every schedule.
    """
    rows = list(module.all_bounds(prof, sched).rows)
    if q >= 2:
        value = float(module.dimension_free_alphabet(prof, sched, q))
        exact = _cost.expected_kl(prof, sched)
        rows.append(BoundValue("dimension-free log q", value, "rigorous",
                               value >= exact - 1e-9 * max(1.0, abs(exact)),
                               "Lavenant-Zanella: (s_max-1) log q"))
    return rows


def _rows_of(table: Any) -> Iterable[Any]:
    rows = getattr(table, "rows", table)
    return list(rows)


def _field(row: Any, key: str, default: Any = None) -> Any:
    if isinstance(row, Mapping):
        return row.get(key, default)
    return getattr(row, key, default)


def _as_bound_value(row: Any) -> BoundValue:
    holds = _field(row, "holds")
    return BoundValue(
        name=str(_field(row, "name")),
        value=float(_field(row, "value")),
        kind=str(_field(row, "kind", "")),
        holds=None if holds is None else bool(holds),
        source=str(_field(row, "source", "")),
    )


# -------------------------------------------------------------------------------------------
# Independent reference computations (plain numpy on the joint, not the engine)
# -------------------------------------------------------------------------------------------
def _block_orders(widths: Sequence[int], limit: int = 720) -> list[list[int]] | None:
    """Every full order permuting positions only within their block; None beyond ``limit``."""
    starts = np.concatenate([[0], np.cumsum(widths)]).tolist()
    if math.prod(math.factorial(w) for w in widths) > limit:
        return None
    perms = [list(itertools.permutations(range(a, b)))
             for a, b in itertools.pairwise(starts)]
    return [[v for part in choice for v in part] for choice in itertools.product(*perms)]


def _plain_entropy(p: np.ndarray) -> float:
    v = p[p > 0]
    return -math.fsum((v * np.log(v)).tolist())


def _plain_total_correlation(joint: Joint) -> tuple[float, float]:
    """``(H(X), sum_j H(X_j) - H(X))`` straight from the dense table."""
    probs = joint.probs
    h_joint = _plain_entropy(probs.ravel())
    h_marg = 0.0
    for j in range(joint.n):
        axes = tuple(a for a in range(joint.n) if a != j)
        h_marg += _plain_entropy(probs.sum(axis=axes))
    return h_joint, h_marg - h_joint


def _close(a: float, b: float, rtol: float = RTOL, atol: float = ATOL) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


# -------------------------------------------------------------------------------------------
# The runner
# -------------------------------------------------------------------------------------------
class _Runner:
    def __init__(
        self,
        ingredients: _Ingredients,
        ks: Sequence[int],
        families: Sequence[str],
        sampler_max_states: int,
        threads: int | None,
        steps_given: bool = False,
    ) -> None:
        self.ing = ingredients
        self.ks = tuple(ks)
        #: Called with the name of each later section of a law as it starts (for progress bars).
        self.section: Callable[[str], None] = lambda section: None
        self.steps_given = steps_given
        self.families = tuple(families)
        self.sampler_max_states = sampler_max_states
        self.threads = threads
        self.checks: list[Check] = []
        self.cases: list[Case] = []

    # -- recording helpers -----------------------------------------------------------------
    def equal(
        self, law: str, name: str, kind: str, value: float, reference: float, detail: str,
        schedule: str | None = None, steps: int | None = None,
        rtol: float = RTOL, atol: float = ATOL,
    ) -> None:
        ok = _close(value, reference, rtol, atol)
        self.checks.append(Check(law, name, kind, "pass" if ok else "fail", value, reference,
                                 "==", schedule, steps, detail))

    def at_most(
        self, law: str, name: str, kind: str, value: float, reference: float, detail: str,
        schedule: str | None = None, steps: int | None = None,
    ) -> None:
        ok = value <= reference + ATOL + RTOL * abs(reference)
        self.checks.append(Check(law, name, kind, "pass" if ok else "fail", value, reference,
                                 "<=", schedule, steps, detail))

    def skip(self, law: str, name: str, kind: str, reason: str,
             schedule: str | None = None, steps: int | None = None) -> None:
        self.checks.append(Check(law, name, kind, "skipped", schedule=schedule, steps=steps,
                                 detail=reason))

    # -- one law ---------------------------------------------------------------------------
    def run_law(self, spec: LawSpec) -> LawReport | None:
        t0 = time.perf_counter()
        if spec.needs is not None and getattr(self.ing, spec.needs) is None:
            self.skip(spec.name, "law available", "identity", f"needs unmask.{spec.needs}")
            return None
        built = spec.build()
        name = spec.name
        joint: Joint | None
        if isinstance(built, Profile):  # a profile at a real length, no dense law
            joint, prof, q = None, built, spec.q
            self.at_most(name, "h non-increasing (Han)", "identity",
                         float(np.max(np.diff(prof.h))), 0.0, "section 4: max_i h(i+1) - h(i)")
            self.at_most(name, "sum_i f(i) <= log q", "identity", float(np.sum(prof.f)),
                         math.log(q), "section 4")
        else:
            joint = built
            q = joint.q
            prof = unmask.profile(joint, threads=self.threads)
            self.profile_checks(name, joint, prof, spec.closed_form)
        n = prof.n
        affordable = joint is not None and (q + 1) ** n <= self.sampler_max_states
        # A law's own step counts (a real length wants larger K) unless the caller chose some.
        for steps in (self.ks if self.steps_given else spec.ks or self.ks):
            if steps > n:
                continue
            family_costs: dict[str, float] = {}
            for family in self.families:
                case = self.run_case(name, joint, prof, q, family, steps, affordable,
                                     spec.closed_form)
                self.cases.append(case)
                if case.expected_kl is not None:
                    family_costs[family] = case.expected_kl
            if "optimal" in family_costs:
                for fam, c in family_costs.items():
                    if fam != "optimal":
                        self.at_most(name, f"optimal <= {fam}", "identity",
                                     family_costs["optimal"], c, "section 7: DP optimum",
                                     "optimal", steps)
            elif "optimal" in self.families:
                self.skip(name, "optimal <= every family", "identity",
                          "needs unmask.optimal_schedule", "optimal", steps)
        adaptive_curves: dict[str, Any] = {}
        planner_curves: dict[str, Any] = {}
        if joint is not None:
            self.limit_checks(name, joint, prof, affordable)
            self.section("adaptive")
            _adaptive_section(self, name, joint, adaptive_curves)
            self.section("planners")
            _planner_section(self, name, joint, planner_curves)
            if spec.closed_form == "copy-pair":
                self.copy_pair_checks(name, joint, prof)
            if spec.markov_transition is not None:
                self.markov_checks(name, joint, prof, spec.markov_transition)
            self.section("blockwise")
            self.blockwise_checks(name, joint, prof)
        curves = self.curves(prof, q)
        if adaptive_curves:
            curves["adaptive"] = adaptive_curves
        if planner_curves:
            curves["planners"] = planner_curves
        return LawReport(name, spec.description, n, q, prof, time.perf_counter() - t0, curves)

    def profile_checks(self, name: str, joint: Joint, prof: Profile,
                       closed_form: str | None) -> None:
        n, q = joint.n, joint.q
        scale = max(1.0, float(prof.h[0]))
        self.at_most(name, "h non-increasing (Han)", "identity",
                     float(np.max(np.diff(prof.h))) if n > 1 else 0.0, 0.0,
                     "section 4: max_i h(i+1) - h(i)")
        self.at_most(name, "sum_i f(i) <= log q", "identity", float(np.sum(prof.f)),
                     math.log(q), "section 4")
        h_plain, tc_plain = _plain_total_correlation(joint)
        self.equal(name, "H(X) = sum_i h(i)", "identity", prof.entropy, h_plain,
                   "section 4 vs -sum p log p (numpy)", rtol=1e-9, atol=1e-9 * scale * n)
        self.equal(name, "TC = sum_i (n-1-i) f(i)", "identity",
                   math.fsum(((n - 1 - np.arange(n - 1)) * prof.f).tolist()), tc_plain,
                   "section 4 vs sum_j H(X_j) - H(X) (numpy)", atol=1e-9 * scale * n * n)
        f = prof.f
        if closed_form == "all-equal":
            ref = np.zeros(n - 1)
            ref[0] = math.log(q)
            self.equal(name, "f = (log q, 0, ..., 0)", "closed-form",
                       float(np.max(np.abs(f - ref))), 0.0, "section 9")
        elif closed_form == "parity":
            ref = np.zeros(n - 1)
            ref[n - 2] = math.log(2)
            self.equal(name, "f = (0, ..., 0, log 2)", "closed-form",
                       float(np.max(np.abs(f - ref))), 0.0, "section 9")
        elif closed_form == "independent":
            self.equal(name, "f = 0", "closed-form", float(np.max(np.abs(f))), 0.0, "section 9")

    def run_case(self, name: str, joint: Joint | None, prof: Profile, q: int, family: str,
                 steps: int, affordable: bool, closed_form: str | None) -> Case:
        try:
            sched = self.ing.schedule(family, prof, steps, self.threads)
        except _Missing as exc:
            self.skip(name, "schedule", "identity", str(exc), family, steps)
            return Case(name, family, steps, None, None, note=str(exc))
        if sched.n != prof.n or sched.steps != steps:
            self.checks.append(Check(name, "schedule has n tokens in K steps", "identity",
                                     "fail", float(sched.n), float(prof.n), "==", family, steps,
                                     f"family returned {sched!r}"))
            return Case(name, family, steps, sched.sizes, None, note="wrong n or K")
        ekl = _cost.expected_kl(prof, sched)
        self.closed_form_case(name, q, closed_form, sched, ekl, family, steps)
        mixture = None
        if affordable and joint is not None:
            try:
                mixture = self.ing.mixture_kl(joint, sched, self.threads)
            except _Missing as exc:
                self.skip(name, "KL(p||qbar) <= E KL", "identity", str(exc), family, steps)
            else:
                self.at_most(name, "KL(p||qbar) <= E KL", "identity", mixture, ekl,
                             "section 3: convexity of KL", family, steps)
                if closed_form == "independent":
                    self.equal(name, "KL(p||qbar) = 0", "closed-form", mixture, 0.0,
                               "section 9", family, steps)
        bounds = self.check_bounds(name, prof, sched, q, ekl, family, steps)
        if closed_form == "all-equal" and sched.sizes[0] == sched.max_size:
            # Section 6/9: the all-equal law attains the dimension-free bound when s_1 = s_max.
            for b in bounds:
                if b.name.startswith("dimension"):
                    self.equal(name, f"{b.name} attained", "closed-form", ekl, b.value,
                               "sections 6, 9: attained by the all-equal law", family, steps)
                    break
        return Case(name, family, steps, sched.sizes, ekl, mixture, bounds)

    def check_bounds(self, name: str, prof: Profile, sched: Schedule, q: int, ekl: float,
                     family: str, steps: int) -> tuple[BoundValue, ...]:
        """Evaluate every bound; each rigorous one must be at least the exact ``ekl``."""
        try:
            bounds = tuple(self.ing.bounds_of(prof, sched, q))
        except _Missing as exc:
            self.skip(name, "bounds", "bound", str(exc), family, steps)
            return ()
        for b in bounds:
            if b.kind == "rigorous":  # "exact", "reference" and "prediction" rows: not bounds
                self.at_most(name, f"bound {b.name}", "bound", ekl, b.value,
                             b.source or "section 6", family, steps)
        return bounds

    def closed_form_case(self, name: str, q: int, closed_form: str | None,
                         sched: Schedule, ekl: float, family: str, steps: int) -> None:
        if closed_form == "all-equal":
            ref = (sched.sizes[0] - 1) * math.log(q)
            self.equal(name, "E KL = (s_1 - 1) log q", "closed-form", ekl, ref, "section 9",
                       family, steps)
        elif closed_form == "parity":
            ref = math.log(2) if sched.sizes[-1] >= 2 else 0.0
            self.equal(name, "E KL = log 2 [s_K >= 2]", "closed-form", ekl, ref, "section 9",
                       family, steps)
        elif closed_form == "independent":
            self.equal(name, "E KL = 0", "closed-form", ekl, 0.0, "section 9", family, steps)

    def limit_checks(self, name: str, joint: Joint, prof: Profile, affordable: bool) -> None:
        n = joint.n
        _, tc_plain = _plain_total_correlation(joint)
        one = Schedule([n])
        ekl1 = _cost.expected_kl(prof, one)
        self.equal(name, "K=1: E KL = TC", "identity", ekl1, tc_plain,
                   "sections 2, 5: one step draws from the product of marginals", "one-step", 1,
                   atol=1e-9 * max(1.0, tc_plain) * n)
        ones = Schedule([1] * n)
        self.equal(name, "s=1: E KL = 0", "identity", _cost.expected_kl(prof, ones), 0.0,
                   "section 5: g(a, a+1) = 0", "one-at-a-time", n)
        if not affordable:
            return
        try:
            kl1 = self.ing.mixture_kl(joint, one, self.threads)
            kln = self.ing.mixture_kl(joint, ones, self.threads)
        except _Missing as exc:
            self.skip(name, "K=1 and s=1 sampler laws", "identity", str(exc))
            return
        self.equal(name, "K=1: KL(p||qbar) = TC", "identity", kl1, tc_plain,
                   "section 2: the law is the product of marginals", "one-step", 1,
                   atol=1e-9 * max(1.0, tc_plain) * n)
        self.equal(name, "s=1: KL(p||qbar) = 0", "identity", kln, 0.0,
                   "section 2: exact conditionals, one at a time", "one-at-a-time", n)

    def copy_pair_checks(self, name: str, joint: Joint, prof: Profile) -> None:
        sched = Schedule([2, 1])
        ekl = _cost.expected_kl(prof, sched)
        self.equal(name, "E KL = (1/3) log 2", "closed-form", ekl, math.log(2) / 3,
                   "section 9 (~0.2310)", "(2, 1)", 2)
        try:
            mixture = self.ing.mixture_kl(joint, sched, self.threads)
            orders = [self.ing.order_kl(joint, sched, perm)
                      for perm in itertools.permutations(range(joint.n))]
        except _Missing as exc:
            self.skip(name, "KL(p||qbar) = log(6/5)", "closed-form", str(exc), "(2, 1)", 2)
            self.skip(name, "order average = E KL", "identity", str(exc), "(2, 1)", 2)
            return
        self.equal(name, "KL(p||qbar) = log(6/5)", "closed-form", mixture, math.log(6 / 5),
                   "section 9 (~0.1823)", "(2, 1)", 2)
        self.equal(name, "order average = E KL", "identity", math.fsum(orders) / len(orders),
                   ekl, "section 5 identity vs enumeration of the 3! orders", "(2, 1)", 2)

    def markov_checks(self, name: str, joint: Joint, prof: Profile,
                      transition: tuple[tuple[float, ...], ...]) -> None:
        if self.ing.markov_profile is None:
            self.skip(name, "markov_profile = lattice profile", "identity",
                      "needs unmask.markov_profile")
            return
        mp = self.ing.markov_profile(np.array(transition), joint.n, threads=self.threads)
        self.equal(name, "markov_profile = lattice profile", "identity",
                   float(np.max(np.abs(mp.h - prof.h))), 0.0,
                   "sections 4, 8: nearest-neighbour formula vs subset lattice", atol=1e-9)

    def blockwise_checks(self, name: str, joint: Joint, prof: Profile) -> None:
        """Theory section 10: blockwise decoding (LLaDA's even split vs the optima, one block)."""
        mod = importlib.import_module("unmask")
        block_schedule = getattr(mod, "BlockSchedule", None)
        if block_schedule is None:
            self.skip(name, "blockwise identity", "identity", "needs unmask.BlockSchedule")
            return
        n = joint.n
        if n < 4:
            return
        width = (n + 1) // 2  # two blocks, the second possibly shorter
        steps = 4
        llada = block_schedule.llada(n, steps, width)
        label = f"blocks {llada.blocks}"
        ekl = float(_cost.expected_kl(joint, llada))
        sigmas = _block_orders(llada.widths)
        if sigmas is not None and joint.q ** n <= 4096:
            orders = [self.ing.order_kl(joint, llada.flat, sigma) for sigma in sigmas]
            self.equal(name, "blockwise identity = order average", "identity",
                       math.fsum(orders) / len(orders), ekl,
                       f"section 10 identity vs the {len(orders)} within-block orders",
                       label, steps)
        if joint.q**n <= 1 << 14 and max(llada.widths) <= 8:
            law = mod.sampler_law(joint, llada, threads=self.threads)
            self.at_most(name, "blockwise KL(p || qbar) <= E KL", "identity",
                         float(mod.kl(joint, law)), ekl,
                         "section 10: exact blockwise law (convexity)", label, steps)
        equal = mod.optimal_block_schedule(joint, steps, width, threads=self.threads)
        free = mod.optimal_block_schedule(joint, steps, width, steps_per_block="free",
                                          threads=self.threads)
        self.at_most(name, "blockwise optimal (equal) <= LLaDA split", "identity",
                     float(equal.cost), ekl, "section 10: per-block optima", label, steps)
        self.at_most(name, "blockwise optimal (free) <= optimal (equal)", "identity",
                     float(free.cost), float(equal.cost),
                     "section 10: min-plus allocation over block frontiers", label, steps)
        one = mod.optimal_schedule(prof, steps, threads=self.threads)
        self.equal(name, "one block = random order", "identity",
                   float(_cost.expected_kl(joint, block_schedule([list(one.sizes)]))),
                   float(_cost.expected_kl(prof, one)),
                   "section 10 with a single block vs section 5", str(list(one.sizes)), steps)

    # -- curves for plots ------------------------------------------------------------------
    def curves(self, prof: Profile, q: int) -> dict[str, Any]:
        n = prof.n
        ks = list(range(1, min(n, 64) + 1))
        families: dict[str, list[float | None]] = {}
        for family in self.families:
            if family == "optimal":
                continue
            vals: list[float | None] = []
            for k in ks:
                try:
                    sched = self.ing.schedule(family, prof, k, self.threads)
                    vals.append(_cost.expected_kl(prof, sched))
                except (_Missing, ValueError):
                    vals.append(None)
            if any(v is not None for v in vals):
                families[family] = vals
        optimal: list[float] | None = None
        if self.ing.optimal_frontier is not None:
            optimal = _frontier_costs(
                self.ing.optimal_frontier(prof, ks[-1], threads=self.threads)
            )
        bounds: dict[str, list[float | None]] = {}
        kinds: dict[str, str] = {}
        if self.ing.bounds is not None:
            for idx, k in enumerate(ks):
                for b in self.ing.bounds_of(prof, Schedule.constant(n, k), q):
                    if b.kind == "exact":
                        continue
                    bounds.setdefault(b.name, [None] * len(ks))[idx] = b.value
                    kinds[b.name] = b.kind
        return {"K": ks, "families": families, "optimal": optimal, "bounds": bounds,
                "bound_kinds": kinds}


def _frontier_costs(frontier: Any) -> list[float]:
    costs = getattr(frontier, "costs", frontier)
    return [float(c) for c in np.asarray(costs, dtype=np.float64).ravel().tolist()]


SECTION9_LAWS = ("sec9 f=1/(l+1)^2", "sec9 f=1/(l+1)")


def _section9_dp(runner: _Runner) -> list[LawReport]:
    """Check the DP sanity numbers of theory section 9 (n = 400, K = 16, h from f)."""
    n, steps = 400, 16
    l_plus_1 = np.arange(n - 1) + 1.0
    cases = [
        (SECTION9_LAWS[0], 1.0 / l_plus_1**2, 0.8385, 5e-5, 36.84, 5e-3),
        (SECTION9_LAWS[1], 1.0 / l_plus_1, 46.366, 5e-4, 105.30, 5e-3),
    ]
    reports = []
    for law, f, opt_ref, opt_tol, const_ref, const_tol in cases:
        t0 = time.perf_counter()
        prof = Profile.from_f(f, source=law)
        sched = Schedule.constant(n, steps)
        const = _cost.expected_kl(prof, sched)
        runner.equal(law, "constant schedule cost", "closed-form", const, const_ref,
                     "section 9 (quoted digits)", "constant", steps, rtol=0, atol=const_tol)
        bounds = runner.check_bounds(law, prof, sched, 0, const, "constant", steps)
        runner.cases.append(Case(law, "constant", steps, sched.sizes, const, bounds=bounds))
        try:
            opt_sched = runner.ing.schedule("optimal", prof, steps, runner.threads)
        except _Missing as exc:
            runner.skip(law, "optimal cost", "closed-form", str(exc), "optimal", steps)
        else:
            opt = _cost.expected_kl(prof, opt_sched)
            runner.equal(law, "optimal cost", "closed-form", opt, opt_ref,
                         "section 9 (quoted digits)", "optimal", steps, rtol=0, atol=opt_tol)
            bounds = runner.check_bounds(law, prof, opt_sched, 0, opt, "optimal", steps)
            runner.cases.append(Case(law, "optimal", steps, opt_sched.sizes, opt, bounds=bounds))
        curves = runner.curves(prof, 0)
        reports.append(LawReport(law, "h built from f, n = 400 (solver sanity check)", n, 0,
                                 prof, time.perf_counter() - t0, curves))
    return reports


def _same_law(name: str, known: Sequence[str]) -> str:
    """A law named with its length (``"markov n=2000"``) is the same law at the suite's length.

    The quick and full suites run the long Markov chain at different lengths; either name
    selects it in both.
    """
    if name in known or not isinstance(name, str) or " n=" not in name:
        return name
    base = name.rsplit(" n=", 1)[0]
    match = [k for k in known if k.startswith(base + " n=")]
    return match[0] if len(match) == 1 else name


def _step_counts(ks: Any) -> tuple[int, ...]:
    if isinstance(ks, (str, bytes)) or not isinstance(ks, Iterable):
        raise TypeError(f"ks must be a sequence of step counts, got {ks!r}")
    steps = tuple(ks)
    if not steps:
        raise ValueError("ks is empty: give at least one step count")
    for k in steps:
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"step counts must be integers, got {k!r} in {list(steps)}")
    if any(k < 1 for k in steps):
        raise ValueError(f"step counts must be >= 1, got {list(steps)}")
    return tuple(int(k) for k in steps)


def verify(
    quick: bool = False,
    *,
    laws: Sequence[str] | None = None,
    ks: Sequence[int] | None = None,
    families: Sequence[str] | None = None,
    sampler_max_states: int | None = None,
    threads: int | None = 1,
    progress: ProgressCallback | None = None,
) -> VerifyResult:
    """Run the embedded verification suite and return every check.

    Parameters
    ----------
    quick : bool
        Small laws and two step counts (a few seconds) instead of the default suite (under
        about two minutes on a 2-core machine).
    laws : sequence of str, optional
        Restrict to these law names (see :func:`default_suite`; ``"section-9"`` selects the
        solver sanity numbers at n = 400). A law of the full suite that the quick suite lacks
        runs as in the full suite; ``"markov n=2000"`` and ``"markov n=200"`` both select the
        long Markov chain at the suite's length. Unknown names raise ValueError.
    ks : sequence of int, optional
        Step counts to evaluate, for every law (default ``(2, 3, 4, 8)``, quick ``(2, 4)``,
        and ``(4, 16, 64)`` for the Markov chain at a real length); values above a law's ``n``
        are left out for that law.
    families : sequence of str, optional
        Schedule families (default :data:`FAMILIES`).
    sampler_max_states : int, optional
        Compute the exact random-order law (theory section 8) only when ``(q+1)**n`` is at most
        this (default ``3**12``, quick ``3**7``).
    threads : int or None
        Threads for the C++ core (None: all cores). The default is 1: the suite's laws are
        small, and for them starting threads costs more than it saves.
    progress : callable, optional
        Called as ``progress(description, done, total)`` as each law starts (description: its
        name) and as each of its later sections starts (``"<law>: adaptive"``, ``"planners"``,
        ``"blockwise"``), with ``done`` the laws finished so far.

    Returns
    -------
    VerifyResult
        ``.ok`` is False when any rigorous bound is violated, any closed form of theory
        section 9 fails, or any identity breaks; ``.violations`` lists those checks;
        ``.to_dict()`` is JSON-ready. Checks whose ingredient is missing from this build are
        ``"skipped"`` (listed in ``.missing``), never passed.

    Raises
    ------
    ValueError
        Unknown law or family names, an empty ``ks`` or step counts below 1.
    TypeError
        ``laws`` given as one string, or step counts that are not integers.

    Notes
    -----
    Quantities: the exact order-averaged error ``E_sigma KL(p || q_sigma)`` from the identity
    of theory section 5, and, where enumeration is affordable, the exact ``KL(p || qbar)`` of
    the random-order law ``qbar`` (section 8). Bounds are those of section 6; a bound of kind
    ``"rigorous"`` must be at least the exact value, ``"reference"`` and ``"prediction"`` rows
    are reported but not checked. Closed forms are those of section 9. The identities: Han's
    inequality, ``sum f <= log q``, ``H = sum h`` and ``TC = sum (n-1-i) f(i)`` against plain
    numpy sums over the joint, ``K = 1`` gives ``TC``, one-at-a-time gives 0,
    ``KL(p || qbar) <= E KL`` (convexity), and the DP optimum is at most every family.

    Examples
    --------
    >>> import unmask
    >>> res = unmask.verify(quick=True, laws=["all-equal"], ks=[2])
    >>> res.ok
    True
    >>> sorted(res.to_dict())[:3]
    ['cases', 'checks', 'counts']
    """
    t0 = time.perf_counter()
    specs = default_suite(quick)
    known = [s.name for s in specs] + ["section-9"]
    if isinstance(laws, str):
        raise TypeError(f"laws must be a sequence of law names, got the string {laws!r}")
    if laws is not None:
        laws = [_same_law(name, known) for name in laws]
        # A law of the full suite that the quick one lacks (random-3..6) runs as in the full
        # suite: every name `unmask verify --help` lists is accepted.
        others = {s.name: s for s in default_suite(not quick)}
        unknown = [name for name in laws if name not in known and name not in others]
        if unknown:
            raise ValueError(f"unknown law(s) {unknown}; choose from {known}")
        wanted = set(laws)
        extra = [others[name] for name in dict.fromkeys(laws) if name not in known]
        specs = [s for s in specs if s.name in wanted] + extra
        with_dp = "section-9" in wanted
    else:
        with_dp = True
    if isinstance(families, str):
        raise TypeError(f"families must be a sequence of names, got the string {families!r}")
    fams = tuple(FAMILIES if families is None else families)
    bad = [f for f in fams if f not in FAMILIES]
    if bad:
        raise ValueError(f"unknown schedule family/families {bad}; choose from {list(FAMILIES)}")
    steps: tuple[int, ...]
    if ks is None:
        steps = (2, 4) if quick else (2, 3, 4, 8)
    else:
        steps = _step_counts(ks)
    max_states = (3**7 if quick else 3**12) if sampler_max_states is None else sampler_max_states
    ing = _Ingredients()
    runner = _Runner(ing, steps, fams, max_states, threads, steps_given=ks is not None)
    reports: list[LawReport] = []
    total = len(specs) + (1 if with_dp else 0)
    for done, spec in enumerate(specs):
        if progress is not None:
            progress(spec.name, done, total)
            runner.section = functools.partial(_report_section, progress, spec.name, done, total)
        report = runner.run_law(spec)
        if report is not None:
            reports.append(report)
    if with_dp:
        if progress is not None:
            progress("section-9", total - 1, total)
        reports.extend(_section9_dp(runner))
    if progress is not None:
        progress("done", total, total)
    return VerifyResult(reports, runner.cases, runner.checks, ing.missing(),
                        time.perf_counter() - t0, quick)


def _report_section(progress: ProgressCallback, law: str, done: int, total: int,
                    section: str) -> None:
    progress(f"{law}: {section}", done, total)


# -------------------------------------------------------------------------------------------
# Adaptive rules (theory section 11)
# -------------------------------------------------------------------------------------------
#: Largest (q+1)^n for which the suite computes the exact laws of the adaptive rules.
ADAPTIVE_MAX_STATES = 4**8
ADAPTIVE_THRESHOLDS = (0.6, 0.9)


def _adaptive_section(runner: _Runner, name: str, joint: Joint, out: dict[str, Any]) -> None:
    """Rules side by side at the suite's K, with the identities every law must satisfy.

    Checks: every law sums to 1; the steps pmf of a fixed-size rule is the schedule's K;
    "random" is the random-order law of :func:`unmask.sampler_law`; its KL is at most the
    order-averaged E KL (convexity); one token per step gives KL 0 for the take-then-draw
    rules; threshold tau = 1 is "sampled-prob" one token per step. Fills ``out`` with the
    KL of every rule per K (the table of ``unmask verify``).
    """
    n, q = joint.n, joint.q
    if (q + 1) ** n > ADAPTIVE_MAX_STATES:
        return
    try:
        from unmask.samplers import adaptive as ad
    except ImportError:  # pragma: no cover - the adaptive engine is part of the build
        runner.skip(name, "adaptive rules", "identity", "needs unmask.samplers.adaptive")
        return
    fixed = (*ad.TAKE_THEN_DRAW, "sampled-prob")
    ks = [k for k in runner.ks if k <= n]
    rules: dict[str, list[float | None]] = {r: [] for r in (*fixed, "sampled-prob, 1/step")}
    for k in ks:
        sched = Schedule.constant(n, k)
        label = f"adaptive K={k}"
        for rule in fixed:
            law = ad.adaptive_law(joint, rule, sched, threads=runner.threads)
            runner.equal(name, f"{rule}: law sums to 1", "identity",
                         math.fsum(law.law.flat.tolist()), 1.0, "section 11", label, k)
            runner.equal(name, f"{rule}: P(K steps) = 1", "identity", float(law.steps_pmf[k]),
                         1.0, "section 11: fixed sizes", label, k)
            rules[rule].append(law.kl)
            if rule == "random":
                if runner.ing.sampler_law is None:
                    runner.skip(name, "random rule = sampler_law", "identity",
                                "needs unmask.sampler_law", label, k)
                else:
                    ref = runner.ing.sampler_law(joint, sched, threads=runner.threads)
                    runner.equal(name, "random rule = sampler_law", "identity",
                                 float(np.max(np.abs(law.law.flat - ref.flat))), 0.0,
                                 "sections 8, 11: two algorithms", label, k, atol=1e-12)
                runner.at_most(name, "KL(random rule) <= E KL", "identity", law.kl,
                               _cost.expected_kl(joint, sched), "section 3: convexity", label, k)
        rules["sampled-prob, 1/step"].append(None)
    one = Schedule([1] * n)
    for rule in ad.TAKE_THEN_DRAW:
        law = ad.adaptive_law(joint, rule, one, threads=runner.threads)
        runner.equal(name, f"{rule}, one token per step: KL = 0", "identity", law.kl, 0.0,
                     "section 11: a value-dependent order, drawn one at a time", "one-at-a-time",
                     n, atol=1e-10)
    biased = ad.adaptive_law(joint, "sampled-prob", one, threads=runner.threads)
    rules["sampled-prob, 1/step"] = [biased.kl] * len(ks)
    top = ad.adaptive_law(joint, "threshold", threshold=1.0, threads=runner.threads)
    runner.equal(name, "threshold 1 = sampled-prob one per step", "identity",
                 float(np.max(np.abs(top.law.flat - biased.law.flat))), 0.0,
                 "section 11: only the most probable draw is kept", "one-at-a-time", n,
                 atol=1e-12)
    thresholds = []
    for tau in ADAPTIVE_THRESHOLDS:
        law = ad.adaptive_law(joint, "threshold", threshold=tau, threads=runner.threads)
        runner.equal(name, f"threshold {tau}: steps pmf sums to 1", "identity",
                     math.fsum(law.steps_pmf.tolist()), 1.0, "section 11", "threshold", None)
        runner.equal(name, f"threshold {tau}: law sums to 1", "identity",
                     math.fsum(law.law.flat.tolist()), 1.0, "section 11", "threshold", None)
        thresholds.append({"tau": tau, "expected_steps": law.expected_steps, "kl": law.kl})
    out.update({"K": ks, "rules": rules, "threshold": thresholds})


# -------------------------------------------------------------------------------------------
# The best planner (theory section 12)
# -------------------------------------------------------------------------------------------
#: Largest (q+1)^n for which the suite runs the planner DP (C++), and the Python walks of the
#: additivity identity for the deterministic confidence/margin/entropy planners.
PLANNER_MAX_STATES = 3**10
PLANNER_RULE_MAX_STATES = 4**5
PLANNER_FLOOR = "best planner (floor)"


def _planner_section(runner: _Runner, name: str, joint: Joint, out: dict[str, Any]) -> None:
    """The best deterministic planner against the other strategies, at the suite's K.

    Checks (theory section 12): the DP value equals the KL of the planner's exact law (the
    additivity identity); the best planner with free sizes is at most the best one on the
    optimal schedule's sizes, which is at most the order-averaged random-order E KL (each fixed
    order is a deterministic planner) and at most every deterministic confidence, margin or
    entropy planner on those sizes (each is one; their KL through the identity equals the KL of
    their exact law); the frontier does not increase with K. The random-order mixture
    ``KL(p || qbar)`` and the adaptive rules (which break ties at random) are randomized
    planners: reported, not held to the floor. Fills ``out`` with one curve per strategy.
    """
    n, q = joint.n, joint.q
    if (q + 1) ** n > PLANNER_MAX_STATES:
        return
    from unmask.samplers import planner as pl

    ks = [k for k in runner.ks if k <= n]
    if not ks:
        return
    prof = unmask.profile(joint)
    curves: dict[str, list[float | None]] = {
        PLANNER_FLOOR: [], "best planner, optimal-schedule sizes": [],
        "random order E KL": [], "random order KL(p||qbar)": [],
    }
    rules = ("confidence", "margin", "entropy")
    small = (q + 1) ** n <= PLANNER_RULE_MAX_STATES
    adaptive = getattr(unmask, "adaptive_law", None)
    for k in ks:
        label = f"planner K={k}"
        best = pl.optimal_planner(joint, k, threads=runner.threads)
        runner.equal(name, "best planner: DP value = KL of its law", "identity", best.kl,
                     unmask.kl(joint, best.law), "section 12: additivity", label, k)
        front = best.frontier
        assert front is not None
        runner.at_most(name, "best planner frontier non-increasing", "identity",
                       float(np.max(np.diff(front))) if len(front) > 1 else 0.0, 0.0,
                       "section 12: more steps never hurt", label, k)
        sched = runner.ing.schedule("optimal", prof, k, runner.threads)
        fixed = pl.optimal_planner(joint, sched, threads=runner.threads)
        ekl = _cost.expected_kl(prof, sched)
        runner.at_most(name, "free sizes <= fixed sizes", "identity", best.kl, fixed.kl,
                       "section 12", label, k)
        runner.at_most(name, "best planner <= random order E KL", "identity", fixed.kl, ekl,
                       "section 12: each fixed order is a planner", label, k)
        curves[PLANNER_FLOOR].append(best.kl)
        curves["best planner, optimal-schedule sizes"].append(fixed.kl)
        curves["random order E KL"].append(ekl)
        mix = None
        law_of = getattr(unmask, "sampler_law", None)  # an ingredient the suite may lack
        if law_of is not None and (q + 1) ** n <= runner.sampler_max_states:
            mix = unmask.kl(joint, law_of(joint, sched, threads=runner.threads))
        curves["random order KL(p||qbar)"].append(mix)
        for rule in rules:
            key = f"{rule} planner (deterministic)"
            if small:
                policy = pl.score_policy(joint, sched, rule)
                via = pl.planner_kl(joint, policy)
                runner.equal(name, f"{rule} planner: identity = KL of its law", "identity", via,
                             unmask.kl(joint, pl.planner_law(joint, policy)),
                             "section 12: additivity", label, k)
                runner.at_most(name, f"best planner <= {rule} planner", "identity", fixed.kl,
                               via, "section 12: the floor", label, k)
                curves.setdefault(key, []).append(via)
        if adaptive is not None:
            for rule in ("max-prob", "margin", "entropy"):
                law = adaptive(joint, rule, sched, threads=runner.threads)
                curves.setdefault(f"{rule} rule (random ties)", []).append(law.kl)
    out.update({"K": ks, "strategies": curves})
