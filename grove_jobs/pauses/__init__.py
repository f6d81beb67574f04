"""Global pause and maintenance windows: stored as intervals, honoured by the tick and claim."""
