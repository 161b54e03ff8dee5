"""How hard the contract kit searches: named profiles of example counts.

``ci`` (the default) keeps a whole suite over every registered cell × topology to tens of
seconds on a laptop; ``thorough`` is for a nightly job or for a component you have just
written. Pick one with the ``SEQFORGE_HYPOTHESIS_PROFILE`` environment variable, or call
:func:`load_profile` (``tests/conftest.py`` does, for seqforge's own suite)::

    SEQFORGE_HYPOTHESIS_PROFILE=thorough pytest

Every profile is also registered as a hypothesis settings profile of the same name, so a
suite's own ``@given`` tests follow the same switch: no deadline (timings on a shared CI
machine are noise, not failures), hypothesis's usual 100 examples, 1000 when thorough.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import hypothesis
from hypothesis import HealthCheck

#: the environment variable that names the profile
ENV_VAR = "SEQFORGE_HYPOTHESIS_PROFILE"


@dataclass(frozen=True)
class Profile:
    """Example counts per property (gradcheck is far costlier per example, so it has its own)."""

    name: str
    #: hypothesis examples for each property (shapes, batch independence, …)
    max_examples: int
    #: examples for the gradcheck properties
    gradcheck_examples: int
    #: examples per property for each pair of a registry-wide cell × topology matrix
    #: (every pair is covered; the matrix as a whole sees many more examples)
    matrix_examples: int
    #: upper bound of the drawn batch, time, feature and hidden sizes
    max_size: int
    #: whole-model gradcheck in full (every input element) rather than ``fast_mode``
    #: (random projections; same verdict on wrong gradients, a fraction of the cost)
    full_gradcheck: bool = False
    #: ``max_examples`` of the hypothesis profile of the same name, i.e. of a suite's own
    #: ``@given`` tests without explicit settings (hypothesis's default is 100)
    hypothesis_examples: int = 100

    def examples(self, expensive: bool = False, matrix: bool = False) -> int:
        """Examples for one property run: gradcheck-class or not, alone or in a matrix."""
        if matrix:
            return max(1, self.matrix_examples // 4) if expensive else self.matrix_examples
        return self.gradcheck_examples if expensive else self.max_examples


PROFILES: dict[str, Profile] = {
    "ci": Profile("ci", max_examples=10, gradcheck_examples=2, matrix_examples=4, max_size=5),
    "dev": Profile("dev", max_examples=30, gradcheck_examples=5, matrix_examples=10, max_size=6),
    "thorough": Profile("thorough", max_examples=200, gradcheck_examples=25, matrix_examples=50,
                        max_size=8, full_gradcheck=True, hypothesis_examples=1000),
}
DEFAULT = "ci"

_active: str | None = None


def register_profiles() -> None:
    """Register every :data:`PROFILES` entry as a hypothesis profile (idempotent)."""
    for p in PROFILES.values():
        hypothesis.settings.register_profile(
            p.name, max_examples=p.hypothesis_examples, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            print_blob=True)


def load_profile(name: str | None = None) -> Profile:
    """Activate a profile: ``name``, else ``$SEQFORGE_HYPOTHESIS_PROFILE``, else ``ci``.

    Also loads the hypothesis profile of that name (for a suite's own ``@given`` tests).
    An unknown name is a ValueError listing the known ones.
    """
    global _active
    name = name or os.environ.get(ENV_VAR, "").strip() or DEFAULT
    if name not in PROFILES:
        raise ValueError(f"unknown {ENV_VAR} profile {name!r}; choose one of {', '.join(PROFILES)}")
    register_profiles()
    hypothesis.settings.load_profile(name)
    _active = name
    return PROFILES[name]


def current() -> Profile:
    """The active profile: the one last loaded, else the environment's, else ``ci``.

    Unlike :func:`load_profile` this changes no global hypothesis setting, so the kit can
    be used from a suite that manages hypothesis profiles itself.
    """
    name = _active or os.environ.get(ENV_VAR, "").strip() or DEFAULT
    if name not in PROFILES:
        raise ValueError(f"unknown {ENV_VAR} profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


def hypothesis_settings(max_examples: int, shrink: bool = True) -> hypothesis.settings:
    """The settings every kit property runs under: no deadline (first calls into torch are
    slow), no too-slow health check, reproduction blobs printed on failure.

    ``shrink=False`` reports the first failing example as found: for gradcheck, whose
    failing runs are slow enough that shrinking would take minutes (and whose examples
    are tiny already), and wherever only the verdict matters. The ``explain`` phase
    (which re-runs a shrunk failure many times to mark the draws that did not matter) is
    always off: it doubles the time to a report, and the drawn sizes say enough."""
    skipped = {hypothesis.Phase.explain} | (set() if shrink else {hypothesis.Phase.shrink})
    phases = tuple(p for p in hypothesis.Phase if p not in skipped)
    return hypothesis.settings(
        max_examples=max_examples, deadline=None, phases=phases,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much],
        print_blob=True)
