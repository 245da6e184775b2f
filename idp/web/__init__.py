"""Pages a person sees: login, consent, sessions, logout; translations zh (default) and en."""
