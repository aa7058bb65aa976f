"""Fault-injection tests: the real `nno` under crashes, races and hostile input."""
