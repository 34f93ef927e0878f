"""The project's one error for bad input.

``UsageError`` is raised wherever a value that a user chose (a CLI flag, a
configuration key, a function argument at a public boundary) is outside what
is allowed; its message names the argument and the allowed values. The CLI
prints it as one line and exits with status 2. Every other exception is a bug
and keeps its traceback. It subclasses ``ValueError`` so that callers who
catch ``ValueError`` keep working.
"""


class UsageError(ValueError):
    """Bad input: the message names the argument, the allowed values and what was given."""


def physical_memory_bytes() -> int:
    """This machine's physical memory."""
    import os

    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(nbytes: float, what: str, hint: str = "choose a smaller size") -> None:
    """Refuse, before allocating, arrays that would take more than half of this machine's memory.

    ``what`` names the arguments that set the size, e.g. ``"modulus 100000 with h = 1: the MMU tables"``.
    """
    total = physical_memory_bytes()
    if nbytes > total / 2:
        raise UsageError(
            f"{what} need about {nbytes / 2**30:,.1f} GiB, more than half of this machine's "
            f"{total / 2**30:,.1f} GiB of memory; {hint}"
        )
