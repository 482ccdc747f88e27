"""Machine interfaces: ESPI resources beside the OAuth endpoints."""
