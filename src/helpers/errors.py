"""Errors a researcher can act on: each names the file, the row or column, and what is wrong.

They are the engine's (notebook_pipeline.errors), which maps them to exit codes: the study
raises them, as a step uses its framework's error types.
"""

from notebook_pipeline.errors import AsOfBeforeDataError, InvalidDataError, InvalidParameterError

__all__ = ["AsOfBeforeDataError", "InvalidDataError", "InvalidParameterError"]
