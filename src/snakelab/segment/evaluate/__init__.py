"""Metrics and evaluators of the segment tasks (spec §4): binary metrics, VOI, accuracy, criteria."""
