"""Use cases over the domain; storage is reached only through ``domain.ports``."""
