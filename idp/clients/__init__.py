"""Relying parties (OIDC clients) registered with the server."""
