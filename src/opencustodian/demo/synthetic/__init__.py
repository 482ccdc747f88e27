"""The deterministic synthetic utility behind ``opencustodian seed`` (seed 000 §3.3g–h)."""

from opencustodian.demo.synthetic.context import DEMO_PASSWORD
from opencustodian.demo.synthetic.writer import SeedError, SeedSummary, seed_utility

__all__ = ["DEMO_PASSWORD", "SeedError", "SeedSummary", "seed_utility"]
