"""Demo algorithms of the tabular pipeline (importable ``module:qualname`` references)."""
