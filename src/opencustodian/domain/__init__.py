"""The pure domain model: plain words, no storage or web imports (enforced by import-linter)."""
