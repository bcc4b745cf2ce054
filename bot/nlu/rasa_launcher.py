"""Runs inside the Rasa environment (Python 3.10): `rasa run …` with a JWT secret read from stdin.

Rasa 3.6 takes its API credentials only as command-line options (`--auth-token`, `--jwt-secret`), and
`--auth-token` is then expected as `?token=` in every URL. Both would show in `ps` and in logs. This
launcher receives the secret on a pipe, adds `--jwt-secret` to Rasa's own argument list in-process (the
process's visible command line stays without it), and hands over to Rasa's CLI. Clients then prove
themselves with `Authorization: Bearer <JWT signed with the secret>` (rasa/server.py `requires_auth`).
"""

import os
import sys

# Python put this file's folder (bot/nlu: client.py, server.py, evaluate.py …) first on the import path;
# Rasa and its dependencies must not import those by accident.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]


def main() -> None:
    secret = sys.stdin.readline().strip()
    sys.stdin.close()
    if not secret:
        sys.exit("rasa_launcher: no JWT secret on stdin; refusing to start an open API")
    # One "--opt=value" token: a secret that starts with "-" must not read as an option.
    sys.argv = ["rasa", *sys.argv[1:], f"--jwt-secret={secret}", "--jwt-method=HS256"]
    from rasa.__main__ import main as rasa_main  # type: ignore[import-not-found]

    rasa_main()


if __name__ == "__main__":
    main()
