"""Attacks on the real stack (issue 12): each must be refused, and change nothing."""
