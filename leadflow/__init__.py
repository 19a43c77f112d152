"""leadflow: one lead definition, accountable hand-offs, an arbiter, shared measurements."""
