"""The project's shared error types.

- `Star1Error`: the base class of every error a user can cause (a bad value, a missing file or repo, a busy port).
  The command line prints its message as it is (one or a few lines, no traceback) and exits with its `exit_code`
  (2, a user's mistake, unless a subclass says otherwise). Errors that are bugs or internal signals do not derive
  from it and keep their traceback.
- `RecipeError`: a configuration (YAML block, recipe file or command-line flags) is invalid. Its message names
  where the value came from, the key, and how to fix it.
- `UnparseableOutput`: a model's reply cannot be turned into the expected value. The teacher engine records it
  as the row's failure `unparseable` (with the message as detail) instead of crashing the stage.
"""

from __future__ import annotations


class Star1Error(Exception):
    """An error the user can fix; its message says what went wrong, the value at fault and what to do.

    Subclasses also derive from the builtin type that fits (`ValueError`, `LookupError`, …) so existing
    `except ValueError` clauses keep working.
    """

    exit_code: int = 2


class RecipeError(Star1Error, ValueError):
    """An invalid configuration value; the message names the source, the key and the fix."""


class UnparseableOutput(ValueError):
    """Raised by a parser when the model's text cannot be turned into the expected object.

    The engine turns it into a failed result with `error == "unparseable"` (and re-samples it as the endpoint's
    retry policy allows); the message is kept in `ChatResult.error_detail`.
    """
