"""Test-suite settings shared by every test module."""

from hypothesis import settings

# Property tests explore the same examples on every run, so CI results are reproducible; run
# with --hypothesis-seed=<n> (or another profile) to explore new ones locally.
settings.register_profile("turborl", derandomize=True, deadline=None, database=None)
settings.load_profile("turborl")
