"""The deadline watchdog's thread serves the whole process and may outlive the call that started
it: started by a worker kept on one CPU (:mod:`imgextract.cpupin`), it does not keep that CPU."""

from __future__ import annotations

import os
import threading

from imgextract.registry.watchdog import Watchdog

WAIT = 30


def test_the_watchdog_thread_does_not_keep_the_cpu_of_the_thread_that_started_it() -> None:
    process = os.sched_getaffinity(os.getpid())  # the main thread's CPUs
    dog = Watchdog()
    seen: list[set[int]] = []

    def kept_worker() -> None:
        os.sched_setaffinity(threading.get_native_id(), {max(process)})  # as cpupin.pin_thread does
        item = dog.watch(None, 60.0)  # a header watch: the thread starts
        thread = dog._thread
        assert thread is not None and thread.native_id is not None
        seen.append(os.sched_getaffinity(thread.native_id))
        item.cancel()

    worker = threading.Thread(target=kept_worker)
    worker.start()
    worker.join(WAIT)
    assert seen == [process]
