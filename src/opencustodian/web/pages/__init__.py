"""Server-rendered pages: consent, customer portal, administration."""
