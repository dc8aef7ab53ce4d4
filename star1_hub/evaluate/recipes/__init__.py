"""Evaluation recipes shipped with the package (package data; `recipes/eval` in the checkout links here)."""
