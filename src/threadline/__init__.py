"""Threadline: a self-hosted web UI for AI agents."""

__version__ = "0.1.0"
