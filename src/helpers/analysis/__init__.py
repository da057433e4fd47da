"""The study's analysis: flows, their reconciliation and study, survey statistics, the summary."""
