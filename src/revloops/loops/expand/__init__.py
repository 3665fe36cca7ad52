"""Expand: renewal and expansion opportunities with a play."""
