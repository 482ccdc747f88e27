"""ECIS (seed 004) wire adapters: signed JWT requests, registered keys, response bodies."""
