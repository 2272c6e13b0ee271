"""Lineage model -> graph rows and the parameterised Cypher that writes them. No driver here."""
