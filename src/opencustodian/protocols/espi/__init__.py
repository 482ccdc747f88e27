"""NAESB REQ.21 ESPI (Green Button) wire formats: Atom feeds of usage resources."""
