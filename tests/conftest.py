"""Shared pytest setup for seqforge's own suite.

Hypothesis effort follows ``SEQFORGE_HYPOTHESIS_PROFILE`` — ``ci`` (default: small and
fast), ``dev`` or ``thorough`` — for the contract kit (``seqforge.testing``) and for every
``@given`` test without explicit settings (see ``seqforge/testing/settings.py``).
"""

import sys
from pathlib import Path

from seqforge.testing.settings import load_profile

# --import-mode=importlib puts no test folder on sys.path: the shared helper modules
# (engine_helpers, seq2seq_helpers, …) are imported by name from here
sys.path.insert(0, str(Path(__file__).resolve().parent))

load_profile()
