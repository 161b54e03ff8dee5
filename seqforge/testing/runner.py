"""Running a named property under hypothesis and turning a failure into one clear message.

A :class:`Property` is a function of one hypothesis ``data`` object (it draws its own
sizes, parameters and seeds) plus the subject under test. :func:`run_property` runs it
for a number of examples; :func:`check_all` runs several and raises a single
AssertionError listing every property that failed, with hypothesis's falsifying example.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st

from .settings import current, hypothesis_settings


class NotApplicable(unittest.SkipTest):
    """A property does not apply to this component (pytest reports it as skipped)."""


@dataclass(frozen=True)
class Property:
    """One contract property: ``body(subject, data)`` asserts it for one drawn example."""

    name: str
    doc: str
    body: Callable[[Any, Any], None]
    #: ``applies(subject)`` -> None, or the reason the property does not apply
    applies: Callable[[Any], str | None] = lambda subject: None
    #: gradcheck-class cost: runs ``gradcheck_examples`` instead of ``max_examples``, and
    #: a failure is reported without shrinking
    expensive: bool = False
    #: draws nothing (a check of loaded data, a round trip): runs once, without hypothesis
    once: bool = False


def seed_cpu(seed: int) -> None:
    """Seed the CPU generator only: ``torch.manual_seed`` also queues every accelerator's
    seeding, which costs milliseconds per call — too much per hypothesis example."""
    torch.default_generator.manual_seed(seed)


def resolve(kind: str, component: Any) -> tuple[Any, str]:
    """A registry name or a class -> (class, display name). A registered class shows its
    registry name; an unregistered one (a plugin under test) its class name."""
    from ..plugins import get_registry

    reg = get_registry()
    if isinstance(component, str):
        try:
            return reg.get(kind, component), component
        except LookupError as exc:
            raise ValueError(str(exc)) from None
    for name, entry in reg.entries[kind].items():
        if entry.component is component:
            return component, name
    return component, getattr(component, "__name__", repr(component))


def run_property(prop: Property, subject: Any, label: str,
                 max_examples: int | None = None, matrix: bool = False,
                 shrink: bool = True) -> None:
    """Run ``prop`` on ``subject`` for ``max_examples`` (default: the active profile's
    count; ``matrix``: its smaller count for one pair of a cell × topology matrix).
    ``shrink=False``: report the first failing example unshrunk (faster to a verdict).

    Raises :class:`NotApplicable` when the property does not apply, and AssertionError
    — whatever the body raised — naming the subject, the property and the example.
    """
    reason = prop.applies(subject)
    if reason:
        raise NotApplicable(f"{label}: {prop.name} does not apply ({reason})")
    if prop.once:
        return _run_once(prop, subject, label)
    n = max_examples if max_examples is not None else current().examples(prop.expensive, matrix)

    @hypothesis_settings(max(1, n), shrink=shrink and not prop.expensive)
    @given(data=st.data())
    def test(data):
        # the global RNG (weight init, dropout) is seeded per example and restored after,
        # so examples replay exactly and the caller's RNG is left alone
        with torch.random.fork_rng(devices=[]):
            seed_cpu(data.draw(st.integers(0, 2**31 - 1), label="torch_seed"))
            prop.body(subject, data)

    try:  # one database entry per (property, subject), not one for all of them
        test.hypothesis.inner_test._hypothesis_internal_add_digest = f"{prop.name}:{label}".encode()
    except AttributeError:  # pragma: no cover - hypothesis internals moved
        pass
    threads = torch.get_num_threads()
    # tiny tensors: one intra-op thread is what the engine's ``threads: auto`` picks for
    # such sizes, and far faster than two contending ones (see seqforge/engine/device.py)
    torch.set_num_threads(1)
    try:
        test()
    except NotApplicable:
        raise
    except Exception as exc:
        notes = "\n".join(getattr(exc, "__notes__", []))
        what = str(exc) if isinstance(exc, AssertionError) else f"raised {type(exc).__name__}: {exc}"
        raise AssertionError(f"{label} violates {prop.name!r} ({prop.doc}):\n  {what}"
                             + (f"\n{notes}" if notes else "")) from exc
    finally:
        torch.set_num_threads(threads)


def _run_once(prop: Property, subject: Any, label: str) -> None:
    """A property that draws nothing: one run, the global RNG seeded and then restored."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small data and models: as in run_property
    try:
        with torch.random.fork_rng(devices=[]):
            seed_cpu(0)
            prop.body(subject, None)
    except NotApplicable as exc:
        raise NotApplicable(f"{label}: {prop.name} does not apply ({exc})") from None
    except Exception as exc:
        what = str(exc) if isinstance(exc, AssertionError) else f"raised {type(exc).__name__}: {exc}"
        raise AssertionError(f"{label} violates {prop.name!r} ({prop.doc}):\n  {what}") from exc
    finally:
        torch.set_num_threads(threads)


def check_all(props: dict[str, Property], subject: Any, label: str, *,
              only: Iterable[str] | None = None, skip: Iterable[str] = (),
              max_examples: int | None = None, shrink: bool = True) -> dict[str, str]:
    """Run the selected properties; return ``{name: "passed" | "skipped: why"}``.

    Every property runs even after one fails; then one AssertionError lists them all.
    """
    names = list(only) if only is not None else list(props)
    unknown = (set(names) | set(skip)) - set(props)
    if unknown:
        raise ValueError(f"unknown propert{'y' if len(unknown) == 1 else 'ies'} "
                         f"{', '.join(sorted(unknown))}; known: {', '.join(props)}")
    report: dict[str, str] = {}
    failures: list[str] = []
    for name in names:
        if name in skip:
            report[name] = "skipped: excluded by the caller"
            continue
        try:
            run_property(props[name], subject, label, max_examples, shrink=shrink)
            report[name] = "passed"
        except NotApplicable as exc:
            report[name] = f"skipped: {exc}"
        except AssertionError as exc:
            report[name] = "failed"
            failures.append(str(exc))
    if failures:
        raise AssertionError(f"{len(failures)} of {len(names)} contract properties failed for "
                             f"{label}:\n\n" + "\n\n".join(failures))
    return report
