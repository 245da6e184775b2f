"""Administration: the console (server-rendered pages) and the REST admin API for clients and keys."""
