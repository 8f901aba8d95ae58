#!/usr/bin/env python3
"""Start a throwaway WordPress site on 127.0.0.1 with Debian's `wordpress` package and MariaDB.

Protocol with the caller (tests/peers/wordpress.py), the same as peers/bluesky/launch.mjs:

* stdout: exactly one JSON line once the site answers HTTP:
  ``{"peer": "wordpress", "url", "rest_url", "username", "password", "application_password", ...}``;
  diagnostics go to stderr.
* The site is torn down (PHP server stopped, database dropped, directory removed) when stdin closes
  or on SIGTERM / SIGINT.

What it does:

1. Make a site root in a temp dir: symlinks to every entry of /usr/share/wordpress, plus its own
   ``wp-config.php`` and a real ``wp-content`` (uploads, an mu-plugin, empty plugins and themes).
2. ``php site.php install``: create database ``chorus_wp_<random>``, ``wp_install()``, admin user,
   application password.
3. ``php -S 127.0.0.1:<port> -t <root> router.php`` (router.php explains the ABSPATH trick).

Standard library only, so it runs under any Python 3.10+. Environment (all optional):
``WORDPRESS_PEER_DB_HOST`` (default ``127.0.0.1:3306``), ``WORDPRESS_PEER_DB_USER`` (``root``),
``WORDPRESS_PEER_DB_PASSWORD`` (empty), ``WORDPRESS_PEER_CORE`` (``/usr/share/wordpress``),
``WORDPRESS_PEER_PHP`` (``php``), ``WORDPRESS_PEER_PHP_WORKERS`` (``4``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
CORE = Path(os.environ.get("WORDPRESS_PEER_CORE", "/usr/share/wordpress"))
PHP = os.environ.get("WORDPRESS_PEER_PHP", "php")
# Files of the Debian tree the site root must not inherit: Debian's wp-config.php looks for
# /etc/wordpress/config-<host>.php, and .htaccess is for Apache.
NOT_LINKED = {"wp-config.php", "wp-content", ".htaccess"}
# Limits for php -S: the CLI defaults (2 MB uploads, 128 MB memory) are too small for media tests.
PHP_INI = ("upload_max_filesize=64M", "post_max_size=64M", "memory_limit=512M", "display_errors=stderr")

MU_PLUGIN = """<?php
// Written by peers/wordpress/launch.py. There is no mail transport here: report every mail as
// sent instead of letting PHPMailer print warnings into responses.
add_filter('pre_wp_mail', '__return_true');
"""


def log(message: str) -> None:
    print(f"[wordpress-peer] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    # Small race (another process may take the port before php binds it); php then fails loudly.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def php_string(value: str) -> str:
    """A PHP single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def write_site_root(root: Path, *, url: str, db: dict[str, str]) -> None:
    for entry in CORE.iterdir():
        if entry.name not in NOT_LINKED:
            (root / entry.name).symlink_to(entry)
    content = root / "wp-content"
    for sub in ("uploads", "plugins", "themes", "mu-plugins"):
        (content / sub).mkdir(parents=True)
    (content / "mu-plugins" / "chorus-peer.php").write_text(MU_PLUGIN)

    constants = {
        "DB_NAME": db["name"],
        "DB_USER": db["user"],
        "DB_PASSWORD": db["password"],
        "DB_HOST": db["host"],
        "DB_CHARSET": "utf8mb4",
        "DB_COLLATE": "",
        "WP_HOME": url,
        "WP_SITEURL": url,
        "WP_CONTENT_DIR": str(content),
        "WP_CONTENT_URL": f"{url}/wp-content",
        # "local" is what makes application passwords available over plain http.
        "WP_ENVIRONMENT_TYPE": "local",
        "FS_METHOD": "direct",
    }
    for key in ("AUTH", "SECURE_AUTH", "LOGGED_IN", "NONCE"):
        constants[f"{key}_KEY"] = secrets.token_urlsafe(48)
        constants[f"{key}_SALT"] = secrets.token_urlsafe(48)
    lines = ["<?php", "// Written by peers/wordpress/launch.py for one test run."]
    lines += [f"define({php_string(k)}, {php_string(v)});" for k, v in constants.items()]
    lines += [
        # Nothing in the tests needs WordPress' pseudo-cron, and it would make the single-purpose
        # server call itself over HTTP on page loads. Scheduled posts stay "future".
        "define('DISABLE_WP_CRON', true);",
        "define('AUTOMATIC_UPDATER_DISABLED', true);",
        "define('WP_DEBUG', false);",
        "$table_prefix = 'wp_';",
        "if (!defined('ABSPATH')) { define('ABSPATH', __DIR__ . '/'); }",
        "require_once ABSPATH . 'wp-settings.php';",
        "",
    ]
    (root / "wp-config.php").write_text("\n".join(lines))


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"php -S exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own http URL)
                response.read()
                return
        except urllib.error.HTTPError:
            return  # the server answers; the status is WordPress' business
        except OSError as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout} s: {error}") from error
            time.sleep(0.05)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop php -S and its workers: SIGTERM to the group, then SIGKILL to whatever is left."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        # Wait for the leader without reaping it: while it is an unreaped zombie its pid (the group
        # id) cannot be reused, so the SIGKILL below cannot reach an unrelated process group.
        deadline = time.monotonic() + 10
        with contextlib.suppress(ChildProcessError):
            while time.monotonic() < deadline:
                if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    break
                time.sleep(0.05)
    # If the leader died on its own, its workers may still run, and they keep the group id in use.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Site:
    """Everything one run creates, so that stop() can undo exactly that."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="chorus-wordpress-"))
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.db = {
            "host": os.environ.get("WORDPRESS_PEER_DB_HOST", "127.0.0.1:3306"),
            "user": os.environ.get("WORDPRESS_PEER_DB_USER", "root"),
            "password": os.environ.get("WORDPRESS_PEER_DB_PASSWORD", ""),
            "name": f"chorus_wp_{secrets.token_hex(6)}",
        }
        self.username = "admin"
        self.password = secrets.token_urlsafe(16)
        self.database_created = False
        self.server: subprocess.Popen[bytes] | None = None
        self._stopped = threading.Lock()

    def site_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "WORDPRESS_PEER_DB_HOST": self.db["host"],
            "WORDPRESS_PEER_DB_USER": self.db["user"],
            "WORDPRESS_PEER_DB_PASSWORD": self.db["password"],
            "WORDPRESS_PEER_DB_NAME": self.db["name"],
            "WORDPRESS_PEER_URL": self.url,
            "WORDPRESS_PEER_ADMIN_USER": self.username,
            "WORDPRESS_PEER_ADMIN_PASSWORD": self.password,
            "WORDPRESS_PEER_ADMIN_EMAIL": "admin@example.test",
        }

    def start(self) -> dict[str, object]:
        started = time.monotonic()
        write_site_root(self.root, url=self.url, db=self.db)
        self.database_created = True  # set before, so a half-finished install is still dropped
        install = subprocess.run(
            [PHP, str(HERE / "site.php"), "install", str(self.root)],
            env=self.site_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        sys.stderr.write(install.stderr)
        if install.returncode != 0:
            raise RuntimeError(f"site.php install failed ({install.returncode}): {install.stdout.strip()}")
        # wp_install() may print notices before our JSON; the JSON is the last line.
        credentials = json.loads(install.stdout.strip().splitlines()[-1])

        ini = [arg for setting in PHP_INI for arg in ("-d", setting)]
        env = {**os.environ, "PHP_CLI_SERVER_WORKERS": os.environ.get("WORDPRESS_PEER_PHP_WORKERS", "4")}
        self.server = subprocess.Popen(
            [PHP, *ini, "-S", f"{HOST}:{self.port}", "-t", str(self.root), str(HERE / "router.php")],
            env=env,
            stdin=subprocess.DEVNULL,
            # php -S logs every request; keep them on stderr, away from the JSON protocol.
            stdout=sys.stderr,
            stderr=sys.stderr,
            # With PHP_CLI_SERVER_WORKERS, php forks workers that outlive a signalled parent; a
            # process group of its own lets stop() signal them all at once.
            start_new_session=True,
        )
        wait_for_http(f"{self.url}/?rest_route=/", self.server, timeout=20)
        return {
            "peer": "wordpress",
            "url": self.url,
            "rest_url": f"{self.url}/?rest_route=",
            "username": credentials["username"],
            "password": self.password,
            "application_password": credentials["application_password"],
            "user_id": credentials["user_id"],
            "database": self.db["name"],
            "root": str(self.root),
            "startupSeconds": round(time.monotonic() - started, 3),
        }

    def stop(self) -> int:
        """Undo everything; returns a process exit code. Safe to call twice (second call is a no-op)."""
        if not self._stopped.acquire(blocking=False):
            return 0
        code = 0
        if self.server is not None:
            stop_process_group(self.server)
        if self.database_created:
            drop = subprocess.run(
                [PHP, str(HERE / "site.php"), "drop", str(self.root)],
                env=self.site_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            if drop.returncode != 0:
                log(f"could not drop database {self.db['name']}: {drop.stderr.strip()}")
                code = 1
        shutil.rmtree(self.root, ignore_errors=True)
        return code


def main() -> int:
    site = Site()
    done = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log(f"shutting down ({signal.Signals(signum).name})")
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watch_stdin() -> None:
        sys.stdin.buffer.read()  # returns at EOF, i.e. when the caller closes the pipe or dies
        log("shutting down (stdin closed)")
        done.set()

    # Watch from the start: a caller that dies during start-up must not leave a site behind.
    threading.Thread(target=watch_stdin, daemon=True).start()
    code = 0
    try:
        ready = site.start()
        print(json.dumps(ready), flush=True)  # BrokenPipeError if the caller is gone
        while not done.wait(timeout=1):
            if site.server is not None and site.server.poll() is not None:
                log(f"php -S exited unexpectedly with code {site.server.returncode}")
                code = 1
                break
    except Exception as error:
        log(f"failed: {error!r}")
        code = 1
    finally:
        code = site.stop() or code
    return code


if __name__ == "__main__":
    sys.exit(main())
