"""The pure core of nno: values in, decisions out.

Nothing in this package does I/O, reads a clock, sleeps or logs; a test walks
its imports to keep it so. The shell (`nno.shell`) hands it what happened and
carries out what it decides.

Start-up cost shapes one more rule: the modules that `nno whoami` needs
(`failures`, `messages`, `credentials`) import neither `returns` nor
`dataclasses` nor `typing` at run time, since each of those alone would double
the command's start-up time. They return plain unions (`Credentials |
Failure`); the login modules, which pay for httpx anyway, return `Result`.
"""
