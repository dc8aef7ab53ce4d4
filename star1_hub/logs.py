"""Logging for every `star1` process: our own lines at INFO, libraries' noise only with `-v`.

`configure_logging(verbose)` is called by the command line (`star1 -v …` sets verbose) and by the training
process `accelerate launch` starts (`python -m star1_hub.train.sft`), which inherits the choice through the
`STAR1_VERBOSE` environment variable. Without -v:

- library loggers (httpx, datasets, huggingface_hub, …) speak only at WARNING;
- Python warnings (libraries' FutureWarning / DeprecationWarning / UserWarning) are not shown;
- lines a user cannot act on are dropped: huggingface_hub's "Repo card metadata block was not found" (logged each
  time a card without YAML is read) and DeepSpeed's accelerator detection line ("Setting accelerator to …");
- `datasets`' progress bars are off, and so are the Hub's upload / download bars when stderr is not a terminal
  (in logs they are one line per update). An explicit `HF_DATASETS_DISABLE_PROGRESS_BARS` /
  `HF_HUB_DISABLE_PROGRESS_BARS` wins. Both libraries read these variables when first imported, which happens
  after this (commands import them lazily).
"""

from __future__ import annotations

import logging
import os
import sys

VERBOSE_ENV = "STAR1_VERBOSE"
QUIET_LIBRARY_LOGGERS = ("httpx", "httpcore", "urllib3", "filelock", "datasets", "huggingface_hub", "fsspec")
# (logger name, start of the message) of lines nobody can act on; shown with -v
UNACTIONABLE_LINES = (
    ("huggingface_hub.repocard", "Repo card metadata block was not found"),
    ("DeepSpeed", "Setting accelerator to"),
    ("DeepSpeed", "Setting ds_accelerator to"),
)


class _DropLines(logging.Filter):
    """Drops records whose message starts with one of `prefixes`."""

    def __init__(self, prefixes: tuple[str, ...]):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefixes)


def verbose_requested() -> bool:
    """True when a parent `star1 -v` asked for verbose logs (`STAR1_VERBOSE=1`)."""
    return os.environ.get(VERBOSE_ENV) == "1"


def configure_logging(verbose: bool) -> None:
    """INFO for star1's own loggers (DEBUG with -v); libraries only at WARNING and Python warnings only with -v."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for name in QUIET_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # Python warnings (mostly libraries' FutureWarning / DeprecationWarning) go through logging: shown with -v.
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.WARNING if verbose else logging.ERROR)
    os.environ[VERBOSE_ENV] = "1" if verbose else "0"  # child processes (the training launcher) follow
    if verbose:
        return
    by_logger: dict[str, list[str]] = {}
    for name, prefix in UNACTIONABLE_LINES:
        by_logger.setdefault(name, []).append(prefix)
    for name, prefixes in by_logger.items():
        target = logging.getLogger(name)  # filters stay on the logger object, also when the library sets its level
        if not any(isinstance(f, _DropLines) for f in target.filters):
            target.addFilter(_DropLines(tuple(prefixes)))
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    if not sys.stderr.isatty():
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


__all__ = ["QUIET_LIBRARY_LOGGERS", "UNACTIONABLE_LINES", "configure_logging", "verbose_requested"]
