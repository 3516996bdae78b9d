"""Logging in: passwords, tokens, and the session a token stands for."""
