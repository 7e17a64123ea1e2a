"""KMSAN metadata strategies: one per module behind one Protocol (base.MetadataStrategy),
listed in one registry (registry.REGISTRY)."""
