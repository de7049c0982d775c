"""Decisions: candidate search, the CP-SAT model, the greedy baseline, quote alternatives."""
