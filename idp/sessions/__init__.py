"""SSO sessions, the clients signed in through them, and logout fan-out."""
