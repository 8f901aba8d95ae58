"""The `chorus` command: run the embedded shape, or one role of the scaled shape."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

QUEUES = "default,publishing,metrics,listening"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chorus.settings")
    import django

    django.setup()


def _bind() -> str:
    return os.environ.get("CHORUS_BIND", "127.0.0.1:" + os.environ.get("PORT", "8000"))


def web_argv(bind: str) -> list[str]:
    """gunicorn's command line. Its control socket lives in this instance's var dir, not the
    home directory's default, so two instances on one machine never share (or remove) it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chorus.settings")
    from django.conf import settings

    workers = os.environ.get("WEB_CONCURRENCY", "2")
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "chorus.wsgi:application",
        "--bind",
        bind,
        "--control-socket",
        str(Path(settings.VAR_DIR) / "gunicorn.ctl"),
        "--workers",
        workers,
        "--threads",
        os.environ.get("WEB_THREADS", "4"),
        "--worker-class",
        "gthread",
        "--access-logfile",
        "-" if os.environ.get("CHORUS_ACCESS_LOG") else "/dev/null",
        "--graceful-timeout",
        "5",
    ]


def cmd_web(args: argparse.Namespace) -> int:
    argv = web_argv(args.bind or _bind())
    os.execv(sys.executable, argv)
    return 0  # not reached


def cmd_worker(args: argparse.Namespace) -> int:
    _setup_django()
    from django.conf import settings

    if settings.CHORUS_TASK_BACKEND == "celery":
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "chorus.celery",
            "worker",
            "--queues",
            args.queues,
            "--loglevel",
            "INFO",
            "--concurrency",
            str(args.concurrency or os.environ.get("WORKER_CONCURRENCY", "4")),
            "--hostname",
            f"chorus-{os.getpid()}@%h",
            # Start-up is time a restarted worker's due posts wait. Mingle asks the other workers
            # for their revoked tasks (Chorus revokes none) and waits a second for the answers;
            # gossip tracks the other workers (Chorus has its own heartbeats, chorus.core.beats).
            "--without-mingle",
            "--without-gossip",
        ]
        # Not CELERY_SKIP_CHECKS (1-2 s less before "ready"): the checks load the URLconf in the
        # main process before it forks; without them each pool process loads it on its first
        # publish, after "ready" (the Bluesky crash peer test then measured posts 11.9 s late
        # from readiness).
        os.execv(sys.executable, argv)
    from django.core.management import call_command
    from django_tasks_db.management.commands import db_worker

    from chorus.core import shutdown
    from chorus.core.beats import start_beat_thread

    class Worker(db_worker.Worker):
        """The db worker, which also tells running tasks that the process is stopping."""

        def shutdown(self, signum: int, frame: object) -> None:
            shutdown.request()
            super().shutdown(signum, frame)  # type: ignore[arg-type]

    db_worker.Worker = Worker  # type: ignore[misc]
    start_beat_thread("worker")
    call_command(
        "db_worker", queue_name=args.queues, interval=args.interval, reload=False, startup_delay=False
    )
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    _setup_django()
    from chorus.core.scheduler import run_forever

    run_forever()
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    """The Bluesky firehose consumer (one process per source: it holds a lease on the cursor) and,
    with --mastodon, the Mastodon streams (a thread per instance and hashtag the queries name)."""
    _setup_django()
    import logging
    import threading

    from chorus.listening.stream import Consumer, configured_url

    url = args.url or configured_url()
    if not url and not args.mastodon:
        print(
            "chorus listen: give --url or set CHORUS_LISTEN_BLUESKY_URL (a relay or PDS), or --mastodon",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    from chorus.core.beats import start_beat_thread

    start_beat_thread("listener")  # /health lists each listener, active or standing by
    streams = None
    if args.mastodon:
        from chorus.listening.mastodon_stream import run_all

        streams = threading.Thread(target=run_all, kwargs={"stop": stop}, name="mastodon-streams")
        streams.start()
        print("listening to the Mastodon streams of the queries' instances", flush=True)
    if url:
        consumer = Consumer(url, batch_size=args.batch_size, batch_seconds=args.batch_seconds)
        print(f"listening to {consumer.source}", flush=True)
        consumer.run(stop=stop)
    if streams is not None:
        streams.join()
    print("listening stopped", flush=True)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    call_command("createcachetable", verbosity=args.verbosity)  # the database cache, when used
    return 0


def _print_login(email: str, password: str) -> None:
    from django.conf import settings

    from chorus.accounts.models import Workspace

    line = "=" * 64
    # The first admin comes with a first organization and workspace (ensure_first_admin): say so,
    # and where to rename the workspace, rather than let them appear unannounced.
    made = "".join(
        f'  Created:  organization "{w.organization.name}", workspace "{w.name}" (owned by this\n'
        f"            account; rename the workspace at {settings.CHORUS_BASE_URL}/w/{w.slug}/settings/)\n"
        for w in Workspace.objects.filter(memberships__user__email__iexact=email).select_related(
            "organization"
        )
    )
    print(
        f"\n{line}\n  Chorus first admin account (shown once, change it after signing in)\n"
        f"  URL:      {settings.CHORUS_BASE_URL}/\n  Email:    {email}\n  Password: {password}\n{made}{line}\n",
        flush=True,
    )


def cmd_createadmin(args: argparse.Namespace) -> int:
    _setup_django()
    import secrets

    from chorus.accounts.actions import ensure_first_admin
    from chorus.accounts.models import User

    if args.email is None:
        created = ensure_first_admin()
        if created is None:
            print("An account exists already; use `chorus createadmin --email you@example.org` for another.")
            return 0
        _print_login(created[0].email, created[1])
        return 0
    if User.objects.filter(email__iexact=args.email).exists():
        print(f"{args.email} exists already.", file=sys.stderr)
        return 1
    password = secrets.token_urlsafe(12)
    User.objects.create_superuser(email=args.email, password=password)
    _print_login(args.email, password)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    try:
        call_command("check", deploy=args.deploy, fail_level="WARNING" if args.strict else "ERROR")
    except SystemCheckError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def cmd_channel_check(args: argparse.Namespace) -> int:
    """Verifies a channel's live connection (needs the network: for a user who has internet)."""
    _setup_django()
    from chorus.channels.models import Channel
    from chorus.connectors.base import PublishError
    from chorus.core.vault import VaultError

    channel = Channel.objects.filter(pk=args.channel_id).first()
    if channel is None:
        print(f"No channel with id {args.channel_id}.", file=sys.stderr)
        return 1
    # What stops the network from working from here (Instagram and Threads cannot fetch media
    # from a private CHORUS_BASE_URL): said whether or not the connection itself answers.
    try:
        channel.credentials  # noqa: B018 (decrypted first: a key problem is said as such)
    except VaultError as exc:
        print(
            f"{channel} — FAILED: {exc}. Give the key it was saved with in CHORUS_FERNET_KEYS, "
            "or reconnect the channel.",
            file=sys.stderr,
        )
        return 1
    warning = getattr(channel.connector(), "setup_warning", lambda: "")()
    if warning:
        print(f"{channel} — WARNING: {warning}", file=sys.stderr)
    try:
        print(f"{channel} — {channel.connector().check()}")
    except NotImplementedError:
        print(f"{channel} — this network offers no connection check.", file=sys.stderr)
        return 1
    except (PublishError, ValueError) as exc:
        print(f"{channel} — FAILED: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 1
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """A consistent copy of the embedded default (database, media, keys) while Chorus runs."""
    _setup_django()
    from chorus.core.backup import BackupError, backup

    try:
        path = backup(Path(args.output).resolve())
    except BackupError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"Backup written to {path} (it holds the keys: keep it private).")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Puts a backup in place (stop Chorus first); targets caught mid-send are read back."""
    _setup_django()
    from chorus.core.backup import BackupError, restore

    try:
        settled = restore(Path(args.archive).resolve())
    except BackupError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(
        f"Restored. {settled['unknown']} target(s) caught mid-send will be read back; "
        f"{settled['requeued']} queued again."
    )
    return 0


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    """Re-encrypts every stored secret with the newest key of CHORUS_FERNET_KEYS. Put the new
    key first, run this, then remove the old key. Safe to run again after an interruption."""
    _setup_django()
    from chorus.core.vault import VaultError, rotate_all

    def progress(what: str, done: int, total: int) -> None:
        if done == total or done % 500 == 0:
            print(f"{what}: {done}/{total}", flush=True)

    try:
        report = rotate_all(progress=progress)
    except VaultError as exc:
        print(f"rotate-keys: {exc}", file=sys.stderr)
        return 1
    print(
        ", ".join(f"{n} {what}" for what, n in report.rotated.items()) + " re-encrypted with the newest key."
    )
    if report.undecryptable:
        listed = ", ".join(f"{label} #{pk}" for label, pk in report.undecryptable)
        print(
            f"{len(report.undecryptable)} secret(s) no configured key can open were left as they were: "
            f"{listed}. Add the key they were saved with to CHORUS_FERNET_KEYS and run again, "
            "or reconnect those channels.",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_media_migrate_storage(args: argparse.Namespace) -> int:
    """Copies every media file between MEDIA_ROOT and the bucket (CHORUS_S3_BUCKET), verifying
    checksums; run it again after an interruption: verified files are skipped."""
    _setup_django()
    from chorus.media.migrate import StorageNotConfigured, migrate

    def progress(label: str, name: str, what: str) -> None:
        print(f"{what}: {label}/{name}", flush=True)

    try:
        outcome = migrate(args.to, delete_source=args.delete_source, progress=progress)
    except StorageNotConfigured as exc:
        print(f"media migrate-storage: {exc}; set the bucket's CHORUS_S3_* variables first", file=sys.stderr)
        return 2
    print(
        f"{outcome.copied} copied, {outcome.already} already there (checksums match), "
        f"{outcome.deleted} removed from the source, {len(outcome.mismatched)} mismatched.",
        flush=True,
    )
    if outcome.mismatched:
        print("checksum mismatch after copy: " + ", ".join(outcome.mismatched), file=sys.stderr)
        return 1
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    """Prints a new personal API token of an existing, active user, as the tokens page issues it
    (`accounts.actions.issue_api_token`: same checks, same audit row; the raw value is shown once,
    only its hash is stored)."""
    _setup_django()
    from django.core.exceptions import ValidationError

    from chorus.accounts import actions
    from chorus.accounts.models import User

    user = User.objects.filter(email__iexact=args.email.strip()).first()
    if user is None or not user.is_active:
        print(f"No active user with the email {args.email}.", file=sys.stderr)
        return 1
    name = (args.name or "").strip() or "chorus token create"
    try:
        expires_at = actions.token_expiry(args.expires)
        _token, raw = actions.issue_api_token(user=user, name=name, expires_at=expires_at, scope=args.scope)
    except ValidationError as error:
        print(" ".join(error.messages), file=sys.stderr)
        return 1
    print(raw)
    return 0


def cmd_generate_key(args: argparse.Namespace) -> int:
    """Prints a new Fernet key for CHORUS_FERNET_KEYS (does not need Django)."""
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Loads the sample workspace "Sample: Global campaign" (chorus.analytics)."""
    _setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("demo", *args.rest)
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["chorus manage", *args.rest])
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """The embedded shape: migrate, first admin, then web + worker + scheduler as threads of this
    one process (chorus.core.embedded says why)."""
    started = time.monotonic()
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command

    from chorus.accounts.actions import ensure_first_admin
    from chorus.core import embedded

    if settings.CHORUS_TASK_BACKEND != "db":
        print(
            "chorus run is the embedded shape (database task engine). With CHORUS_TASK_BACKEND="
            f"{settings.CHORUS_TASK_BACKEND}, run `chorus web`, `chorus worker` and `chorus scheduler`.",
            file=sys.stderr,
        )
        return 2
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    created = ensure_first_admin()
    if created is not None:
        _print_login(created[0].email, created[1])
    bind = args.bind or _bind()
    roles = [
        embedded.web_role(bind, threads=int(os.environ.get("WEB_THREADS", "8"))),
        embedded.worker_role(QUEUES.split(","), interval=0.2),
        embedded.scheduler_role(),
    ]

    def announce() -> None:
        print(
            f"Chorus is starting at http://{bind}/ (web, worker, scheduler; "
            f"set up in {time.monotonic() - started:.1f}s). Ctrl-C stops all.",
            flush=True,
        )

    code = embedded.run(roles, announce)
    print("Chorus stopped.", flush=True)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chorus", description="Chorus: social media management for teams.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "run", help="embedded shape: migrate, create the first admin, start web + worker + scheduler"
    )
    p.add_argument("--bind", help="host:port (default 127.0.0.1:8000, or CHORUS_BIND)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("web", help="the web server (gunicorn)")
    p.add_argument("--bind", help="host:port (default 127.0.0.1:8000, or CHORUS_BIND)")
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("worker", help="a task worker (db worker, or Celery when CHORUS_TASK_BACKEND=celery)")
    p.add_argument("--queues", default=QUEUES, help=f"comma-separated queues (default {QUEUES})")
    p.add_argument("--interval", type=float, default=0.2, help="db worker poll interval in seconds")
    p.add_argument("--concurrency", type=int, help="Celery worker processes")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("scheduler", help="the scheduler loop (several may run at once)")
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser("listen", help="the Bluesky firehose consumer of social listening")
    p.add_argument("--url", help="relay or PDS base URL (default CHORUS_LISTEN_BLUESKY_URL)")
    p.add_argument("--batch-size", type=int, default=10_000, help="events per transaction at most")
    p.add_argument("--batch-seconds", type=float, default=0.5, help="seconds per transaction at most")
    p.add_argument(
        "--mastodon", action="store_true", help="also stream the Mastodon hashtags the queries name"
    )
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("-v", "--verbosity", type=int, default=1)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser(
        "createadmin", help="create the first admin (or another with --email) and print its login"
    )
    p.add_argument("--email")
    p.set_defaults(func=cmd_createadmin)

    p = sub.add_parser("check", help="Django system checks (--deploy for production settings)")
    p.add_argument("--deploy", action="store_true")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "channel", help="channel tools: `chorus channel check <id>` verifies a live connection"
    )
    channel_sub = p.add_subparsers(dest="channel_command", required=True, metavar="ACTION")
    c = channel_sub.add_parser("check", help="verify the live connection of a channel")
    c.add_argument("channel_id", type=int)
    c.set_defaults(func=cmd_channel_check)

    p = sub.add_parser(
        "backup", help="copy the database, media and keys of the embedded default (while running)"
    )
    p.add_argument("--output", default=".", help="file or directory for the .tar.gz (default: here)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="put a backup in place (stop Chorus first)")
    p.add_argument("archive")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("rotate-keys", help="re-encrypt stored tokens with the newest CHORUS_FERNET_KEYS key")
    p.set_defaults(func=cmd_rotate_keys)

    p = sub.add_parser(
        "media", help="media tools: `chorus media migrate-storage --to bucket` moves files to the bucket"
    )
    media_sub = p.add_subparsers(dest="media_command", required=True, metavar="ACTION")
    m = media_sub.add_parser(
        "migrate-storage", help="copy every media file to the bucket or back, verifying checksums (resumable)"
    )
    m.add_argument("--to", choices=["bucket", "local"], required=True)
    m.add_argument(
        "--delete-source", action="store_true", help="remove each source file once its copy is verified"
    )
    m.set_defaults(func=cmd_media_migrate_storage)

    p = sub.add_parser(
        "token", help="API tokens: `chorus token create --email E` prints a new personal token"
    )
    token_sub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    t = token_sub.add_parser("create", help="print a new personal API token for a user")
    t.add_argument("--email", required=True)
    t.add_argument("--name", default="")
    t.add_argument(
        "--scope",
        default="write",
        choices=["read", "write", "admin"],
        help="read: GET only; write: also create, change, delete; admin: also workspace administration "
        "(default: write)",
    )
    t.add_argument(
        "--expires", type=int, default=None, metavar="DAYS", help="expire after DAYS days (default: never)"
    )
    t.set_defaults(func=cmd_token_create)

    p = sub.add_parser("generate-key", help="print a new key for CHORUS_FERNET_KEYS")
    p.set_defaults(func=cmd_generate_key)

    p = sub.add_parser("demo", help="load a sample workspace with a year of invented posts and metrics")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("manage", help="any Django management command, e.g. `chorus manage shell`")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
