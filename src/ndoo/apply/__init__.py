"""Apply national data opt-outs to a dataset before it is disclosed."""
