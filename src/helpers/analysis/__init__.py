"""Analyses of the clean tables: fund flows, their reconciliation with the reported figures,
the flow study, the survey statistics and the summary."""
