"""Shared pytest setup for seqforge's own suite.

Hypothesis effort follows ``SEQFORGE_HYPOTHESIS_PROFILE`` — ``ci`` (default: small and
fast), ``dev`` or ``thorough`` — for the contract kit (``seqforge.testing``) and for every
``@given`` test without explicit settings (see ``seqforge/testing/settings.py``).
"""

from seqforge.testing.settings import load_profile

load_profile()
