"""The benchmark's count of requests that ran one after another (``bench/instrument.py``).

It backs a claim in docs/performance.md (how many round trips a chat turn waits for), so
the interval arithmetic is pinned here; the rest of the benchmark is exercised by
``tests/integration/test_request_counts.py``.
"""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from ..conftest import load_bench_module

in_sequence = load_bench_module("instrument").in_sequence


def test_in_sequence_counts_a_chain_and_not_what_ran_beside_it() -> None:
    # A Query, then three requests at once, then two one after another.
    spans = [(0, 18), (20, 40), (21, 44), (22, 45), (45, 62), (63, 80)]
    assert in_sequence(spans) == 4
    assert in_sequence([]) == 0
    assert in_sequence([(0, 5), (1, 6), (2, 7)]) == 1
    assert in_sequence([(0, 5), (5, 9)]) == 2  # touching ends count as one after another


spans_strategy = st.lists(
    st.tuples(st.integers(0, 50), st.integers(1, 20)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=7,
)


@given(spans_strategy)
def test_in_sequence_is_the_longest_chain_of_non_overlapping_requests(
    spans: list[tuple[int, int]],
) -> None:
    def chain(subset: tuple[tuple[int, int], ...]) -> bool:
        ordered = sorted(subset)
        return all(a[1] <= b[0] for a, b in itertools.pairwise(ordered))

    best = max(
        (
            len(c)
            for r in range(len(spans) + 1)
            for c in itertools.combinations(spans, r)
            if chain(c)
        ),
        default=0,
    )
    assert in_sequence(spans) == best
