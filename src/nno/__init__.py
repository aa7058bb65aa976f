"""nno, the Neutrino command-line client of the NNO platform."""

# A literal, not importlib.metadata: reading the installed metadata at start-up
# would scan site-packages on every `nno whoami`.
__version__ = "0.1.0"
