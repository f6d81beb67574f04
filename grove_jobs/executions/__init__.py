"""The execution aggregate's read side (writes belong to the engine)."""
