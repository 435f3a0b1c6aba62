"""`python -m argva …`: the argva command line (`python -m argva cora` trains ARGVA on Cora)."""

import signal
import sys

from . import _argva


def main() -> None:
    # Ctrl-C ends the command as it ends the `argva` binary (Python's handler would wait for
    # the native call to return).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_argva.main(["argva", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
