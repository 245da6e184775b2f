"""OpenID Connect / OAuth 2.0 on Authlib's server classes."""
