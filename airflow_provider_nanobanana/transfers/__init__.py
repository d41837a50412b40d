"""Operators that move what jobs produced to the user's storage."""
