"""The imperative shell of nno: HTTP, files, the clock, the terminal."""
