"""Helpers for the china-tech-flows research repository: loading, flows, survey statistics, plots, pipeline."""
