"""Wall time and peak memory of the embedded verification suite (``unmask verify``).

There is no library a user would otherwise call for this: the baseline is the same suite with
the exact random-order law switched off (``sampler_max_states=0``), to show what the exact
sampler laws cost on top of the profile-based checks. Both runs must agree on every check they
share.

Run: ``python bench/bench_verify.py``.
"""

from __future__ import annotations

import resource
import time

import unmask


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(**kwargs: object) -> tuple[unmask.VerifyResult, float]:
    t0 = time.perf_counter()
    res = unmask.verify(**kwargs)  # type: ignore[arg-type]
    return res, time.perf_counter() - t0


def main() -> None:
    rows = []
    for label, kwargs in [
        ("quick", {"quick": True}),
        ("quick, no sampler laws", {"quick": True, "sampler_max_states": 0}),
        ("default", {}),
        ("default, no sampler laws", {"sampler_max_states": 0}),
    ]:
        res, secs = timed(**kwargs)
        assert res.ok, res
        rows.append((label, secs, res.counts(), len(res.cases), peak_rss_mib(), res))
    # Shared checks agree between the runs with and without the exact sampler laws.
    for full, bare in ((rows[0][5], rows[1][5]), (rows[2][5], rows[3][5])):
        key = {(c.law, c.name, c.schedule, c.steps): c for c in full.checks}
        for c in bare.checks:
            other = key[(c.law, c.name, c.schedule, c.steps)]
            assert other.status == c.status and other.value == c.value, (c, other)
    print(f"{'run':28s} {'time (s)':>9s} {'checks':>8s} {'cases':>6s} {'peak RSS (MiB)':>15s}")
    for label, secs, counts, cases, rss, _ in rows:
        print(f"{label:28s} {secs:9.2f} {counts['pass']:8d} {cases:6d} {rss:15.0f}")


if __name__ == "__main__":
    main()
