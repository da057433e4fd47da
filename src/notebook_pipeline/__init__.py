"""The engine that runs pipelines of papermill notebooks, as pipeline.yaml declares them:
pre-flight checks, content-keyed caching, staging, execution, failures, the static site and
`status`. It knows nothing of the study it runs but what pipeline.yaml's `study:` names, and
never imports it.

Its public base, which a study may import: `errors` (the error types mapped to exit codes),
`files` (atomic writes) and `layout` (where a project's folders are).
"""
