"""Typed models of Qualtrics objects, split by API area. Import them from ``qualtrics_sdk``."""
