"""The project's shared error types.

- `RecipeError`: a configuration (YAML block, recipe file or command-line flags) is invalid. Its message names
  where the value came from, the key, and how to fix it.
- `UnparseableOutput`: a model's reply cannot be turned into the expected value. The teacher engine records it
  as the row's failure `unparseable` (with the message as detail) instead of crashing the stage.
"""

from __future__ import annotations


class RecipeError(ValueError):
    """An invalid configuration value; the message names the source, the key and the fix."""


class UnparseableOutput(ValueError):
    """Raised by a parser when the model's text cannot be turned into the expected object.

    The engine turns it into a failed result with `error == "unparseable"` (and re-samples it as the endpoint's
    retry policy allows); the message is kept in `ChatResult.error_detail`.
    """
