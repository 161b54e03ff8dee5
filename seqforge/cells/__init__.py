"""Recurrent cells: one time step each. See :mod:`seqforge.cells.base` for the contract."""
