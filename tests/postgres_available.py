"""Tell `make test` whether the PostgreSQL run can happen.

Exit 0: a server answers at the URL given, run the suite on it. Exit 1: no
server, and the run is skipped with the reason printed, unless REQUIRE_POSTGRES=1,
in which case the missing server is an error (exit 2) so CI cannot pass without it.
"""

import os
import sys

import environ
import psycopg


def main(url: str) -> int:
    config = environ.Env.db_url_config(url)
    try:
        psycopg.connect(
            dbname="postgres",
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            connect_timeout=5,
        ).close()
    except psycopg.Error as exc:
        reason = f"no PostgreSQL server reachable at {url}: {str(exc).strip()}"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            print(f"ERROR: REQUIRE_POSTGRES=1 but {reason}", file=sys.stderr)
            return 2
        print(f"SKIPPED the PostgreSQL run: {reason} (set REQUIRE_POSTGRES=1 to make this an error)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
