"""The ground layer: the types every other package speaks (envelope, identifiers, records, errors).

It imports nothing of the project, so any package may import it and it can never be part of a cycle.
"""
