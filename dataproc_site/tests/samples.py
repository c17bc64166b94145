"""Read one sample from the metrics registry (0 when the series does not exist yet)."""

from prometheus_client import REGISTRY


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
