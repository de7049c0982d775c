"""Use cases that span nouns, each written once and called from views, workers and the demo:
``pricing`` (price an order: market view, engine, stored quotes), ``demo`` (the demo park)."""
