"""Real concurrency for the tests that need it: calls released together, each in its own
thread with its own database connection."""

import threading

from django.db import connection


def run_together(*calls, timeout: float = 120):
    """Run each call in its own thread, all released at once by a barrier; return what each
    returned, or the exception it raised (the outcome under test), in order. Each thread
    closes its connection when done, so the test database can be dropped."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results


def raised(results) -> list[Exception]:
    return [r for r in results if isinstance(r, Exception)]
