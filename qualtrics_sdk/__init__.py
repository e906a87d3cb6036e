"""Typed async client for the Qualtrics v3 API."""
