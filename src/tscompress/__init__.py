"""tscompress: compressing neural networks for multivariate time-series classification."""

__version__ = "0.1.0"
