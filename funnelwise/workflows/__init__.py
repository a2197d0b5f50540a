"""Journeys: workflow definitions (a trigger, a graph of steps, settings), validated and versioned.

Only the definition layer exists so far: no enrollment, no execution engine.
"""
