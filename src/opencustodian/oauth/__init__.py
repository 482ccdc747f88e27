"""The OAuth 2.0 authorization server (Authlib core behind a Starlette edge)."""
