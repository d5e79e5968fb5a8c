"""minicnn.bench.timing: every clock read follows the function's sync; rounds and medians."""
import pytest

from minicnn.bench import timing


class Recorder:
    """A fake clock (one second per read) and fake work that log every event in order."""

    def __init__(self):
        self.events = []
        self.now = 0.0

    def clock(self):
        self.events.append(("clock",))
        self.now += 1.0
        return self.now

    def sync(self, name):
        return lambda: self.events.append(("sync", name))

    def work(self, name):
        return lambda: self.events.append(("call", name))


@pytest.fixture
def recorder(monkeypatch):
    rec = Recorder()
    monkeypatch.setattr(timing, "clock", rec.clock)
    monkeypatch.setattr(timing.time, "sleep", lambda seconds: None)
    return rec


def test_seconds_syncs_before_both_clock_reads(recorder):
    assert timing.seconds(recorder.work("a"), calls=3, sync=recorder.sync("a")) == pytest.approx(1 / 3)
    assert recorder.events == [("sync", "a"), ("clock",)] + [("call", "a")] * 3 + [("sync", "a"), ("clock",)]


def test_interleaved_syncs_before_every_clock_read(recorder):
    funcs = {name: recorder.work(name) for name in ("gpu", "torch", "cpu")}
    syncs = {name: recorder.sync(name) for name in funcs}
    times = timing.interleaved(funcs, rounds=4, warmup=2, pause=0, sync=syncs)
    assert {name: len(values) for name, values in times.items()} == {"gpu": 4, "torch": 4, "cpu": 4}
    clock_reads = [i for i, event in enumerate(recorder.events) if event == ("clock",)]
    assert len(clock_reads) == 2 * (3 + 3 * 4)  # calls_for's timing and 4 rounds, for 3 functions
    for i in clock_reads:
        assert recorder.events[i - 1][0] == "sync", recorder.events[max(0, i - 3):i + 1]
    # ... and it is the sync of the function whose calls the reading brackets
    for start, stop in zip(clock_reads[::2], clock_reads[1::2]):
        names = {event[1] for event in recorder.events[start:stop] if event[0] == "call"}
        assert len(names) == 1
        assert recorder.events[start - 1] == recorder.events[stop - 1] == ("sync", names.pop())


def test_one_sync_callable_serves_every_function(recorder):
    sync = recorder.sync("all")
    timing.interleaved({"a": recorder.work("a"), "b": recorder.work("b")}, rounds=2, warmup=0, pause=0, sync=sync)
    clock_reads = [i for i, event in enumerate(recorder.events) if event == ("clock",)]
    assert all(recorder.events[i - 1] == ("sync", "all") for i in clock_reads)


def test_warmup_runs_before_the_first_clock_read(recorder):
    timing.interleaved({"a": recorder.work("a")}, rounds=1, warmup=3, pause=0, sync=recorder.sync("a"))
    first_clock = recorder.events.index(("clock",))
    assert recorder.events[:first_clock].count(("call", "a")) == 3


def test_without_sync_the_cpu_side_is_not_synced(recorder):
    timing.interleaved({"gpu": recorder.work("gpu"), "cpu": recorder.work("cpu")}, rounds=2, warmup=0,
                       pause=0, sync={"gpu": recorder.sync("gpu")})
    assert ("sync", "cpu") not in recorder.events
    assert recorder.events.count(("sync", "gpu")) == 2 * (1 + 2)


def test_fewer_rounds_for_one_function_take_the_first_rounds(recorder):
    times = timing.interleaved({"gpu": recorder.work("gpu"), "cpu": recorder.work("cpu")},
                               rounds={"gpu": 5, "cpu": 2}, warmup=0, pause=0)
    assert len(times["gpu"]) == 5 and len(times["cpu"]) == 2
    calls = [event[1] for event in recorder.events if event[0] == "call"]
    # calls_for's one call each, then rounds: gpu cpu gpu cpu gpu gpu gpu (one call per timing here)
    assert calls[2:] == ["gpu", "cpu", "gpu", "cpu", "gpu", "gpu", "gpu"]


def test_no_rounds_leaves_a_function_untimed(recorder):
    times = timing.interleaved({"gpu": recorder.work("gpu"), "cpu": recorder.work("cpu")},
                               rounds={"gpu": 2, "cpu": 0}, warmup=1, pause=0)
    assert times["cpu"] == [] and ("call", "cpu") not in recorder.events


def test_median_ratio_pairs_the_rounds_both_took_part_in():
    assert timing.median_ratio([4.0, 6.0], [1.0, 2.0, 100.0]) == pytest.approx(3.5)
    assert timing.median([3.0, 1.0, 2.0]) == 2.0
