"""Specs: YAML with line marks → typed, validated :class:`~seqforge.spec.schema.Spec`."""
