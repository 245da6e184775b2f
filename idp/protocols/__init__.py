"""Protocol front-ends (OIDC, CAS); they translate requests into calls on the identity core."""
