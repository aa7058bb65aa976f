"""Property-based tests: the core and the shell's login loop against any input."""
