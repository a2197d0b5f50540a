"""Behaviour tracking and the one event log."""
