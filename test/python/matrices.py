"""Test matrices as pytest parameters, with the sample the sanitized CI run
takes of them."""

import collections

import pytest


def _fields(case):
    return case if isinstance(case, tuple) else (case,)


def matrix_params(matrix, key):
    """`matrix` (cases: tuples, or single values) as pytest params. Of the
    cases that share `key(case)` (what selects the compiler's code paths,
    such as the code type), one runs everywhere; the others are marked
    `exhaustive`, which the sanitized CI run (scripts/test-sanitized.sh
    --ci) leaves out. Each key's case is the one whose other values the
    chosen cases have used least so far, so that the sample still spreads
    over every value of every parameter."""
    groups = {}
    for case in matrix:
        groups.setdefault(key(case), []).append(case)
    used = collections.Counter()
    chosen = set()
    for group in groups.values():
        pick = min(group, key=lambda c: sum(used[f] for f in enumerate(_fields(c))))
        used.update(enumerate(_fields(pick)))
        chosen.add(pick)
    return [pytest.param(*_fields(case),
                         marks=() if case in chosen else (pytest.mark.exhaustive,))
            for case in matrix]
