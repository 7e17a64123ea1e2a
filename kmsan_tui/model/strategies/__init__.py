"""KMSAN metadata strategies, one per module, behind one Protocol (base.MetadataStrategy)."""

from __future__ import annotations

from kmsan_tui.model.layout import KernelConfig
from kmsan_tui.model.strategies.base import MetadataStrategy, NoMetadata, VirtualLayout
from kmsan_tui.model.strategies.eager import EagerStrategy
from kmsan_tui.model.strategies.fixed import FixedStrategy
from kmsan_tui.model.strategies.lazy import LazyStrategy


def make_strategy(config: KernelConfig) -> MetadataStrategy:
    """The strategy object for a kernel configuration (no metadata unless sanitizer=kmsan)."""
    if config.sanitizer != "kmsan":
        return NoMetadata()
    if config.strategy == "eager":
        return EagerStrategy(config.version)
    if config.strategy == "lazy":
        return LazyStrategy(config.lazy_activation, config.lazy_storage)
    return FixedStrategy()


__all__ = ["MetadataStrategy", "VirtualLayout", "make_strategy", "EagerStrategy", "LazyStrategy",
           "FixedStrategy", "NoMetadata"]
