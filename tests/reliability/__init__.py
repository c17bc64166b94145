"""Fault tests: real API and worker processes killed, stopped and cut off, with the promises checked after."""
