"""`leadflow serve`: the production server (gunicorn, WSGI) with static files served."""

import os

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve leadflow with gunicorn (a production WSGI server); static files included."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("LEADFLOW_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("LEADFLOW_WORKERS", 2 * (os.cpu_count() or 1) + 1)),
        )
        parser.add_argument("--threads", type=int, default=1)
        parser.add_argument("--access-log", action="store_true", help="Log every request.")

    def handle(self, *args, **options):
        from gunicorn.app.base import BaseApplication

        from leadflow.wsgi import application

        settings = {
            "bind": options["bind"],
            "workers": options["workers"],
            "threads": options["threads"],
            "accesslog": "-" if options["access_log"] else None,
            "errorlog": "-",
            "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
        }

        class Server(BaseApplication):
            def load_config(self):
                for key, value in settings.items():
                    if value is not None:
                        self.cfg.set(key, value)

            def load(self):
                return application

        self.stdout.write(f"leadflow serving on http://{options['bind']}/")
        Server().run()
