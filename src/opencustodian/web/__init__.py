"""The HTTP face of the custodian: ``create_app()`` wires routes, pages and storage."""
