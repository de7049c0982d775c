"""Simulation runs launched from the web (the analyst's page): stored, run in the background."""
