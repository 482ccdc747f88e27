"""Pure wire adapters: bytes and dicts in, domain records out; no database, no web."""
