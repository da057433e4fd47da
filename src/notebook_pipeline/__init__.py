"""The engine that runs papermill notebook pipelines (pipeline.yaml): pre-flight, content-keyed
caching, staging, execution, failures, the static site and `chinaflows status`.

A regular package (not a namespace one): setuptools' package discovery finds it, and the first
copy on sys.path is the one imported, whole.
"""
