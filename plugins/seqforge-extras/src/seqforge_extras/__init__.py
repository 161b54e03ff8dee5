"""seqforge-extras: out-of-tree components for seqforge, registered through the
``seqforge`` entry-point group (see :mod:`seqforge_extras.plugin`).

Torch is imported only when a component is used, so plugin discovery stays cheap.
"""

__version__ = "0.1.0"
