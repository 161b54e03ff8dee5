"""Topologies: how data shapes are wired to the recurrent stack. One file each."""
