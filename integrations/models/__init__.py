"""Models of the integrations app, one module per concern, all importable from here."""
