"""The seeded synthetic utility and the demo third-party app."""
