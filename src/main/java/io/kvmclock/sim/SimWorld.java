package io.kvmclock.sim;

import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * The true time line (ns) shared by every modelled host, the kernel work items scheduled on it, and the
 * one seeded random source. Time moves only when a caller advances it; timers fire in (due, scheduling
 * order) order at their own due instant, so a run depends on nothing but the seed and the calls made.
 */
final class SimWorld {
    private record Timer(long due, long seq, Runnable action) {}

    private final PriorityQueue<Timer> timers = new PriorityQueue<>((a, b) -> a.due != b.due
            ? Long.compare(a.due, b.due) : Long.compare(a.seq, b.seq));
    final SplittableRandom random;
    private long now;
    private long seq;

    SimWorld(long seed) {
        this.random = new SplittableRandom(seed);
    }

    long now() {
        return now;
    }

    void schedule(long due, Runnable action) {
        timers.add(new Timer(Math.max(due, now), seq++, action));
    }

    void advance(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("time only moves forward: elapse(" + nanos + ")");
        }
        long target = Math.addExact(now, nanos);
        while (!timers.isEmpty() && timers.peek().due <= target) {
            Timer t = timers.poll();
            now = t.due;
            t.action.run();
        }
        now = target;
    }

    long draw(Distribution d) {
        return d.draw(random);
    }
}
