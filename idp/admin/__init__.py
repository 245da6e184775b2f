"""Administration: the console (server-rendered pages) and the REST admin API for clients, CAS services,
signing keys and the CA trust status."""
