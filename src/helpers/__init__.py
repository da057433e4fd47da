"""china-tech-flows helpers: loading, flows, survey statistics, plots, pipeline, reports."""
