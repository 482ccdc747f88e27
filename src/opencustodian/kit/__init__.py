"""Domain-free helpers: time, identifiers, hardened XML."""
