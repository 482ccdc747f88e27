"""LF Energy CDS wire adapters: JSON objects, listings, server metadata."""
