"""Blind human-vs-bot experiments in the arena: design, statistics, reports."""
