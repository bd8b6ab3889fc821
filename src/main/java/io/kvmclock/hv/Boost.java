package io.kvmclock.hv;

/**
 * The calling thread runs at real-time priority (SCHED_FIFO) until {@link #close}: what a VMM gives its
 * blackout, from the pause to the resume, so that ordinary processes busy on every core cannot preempt the
 * restore. {@link #granted} is false where the host did not allow it (no CAP_SYS_NICE, the model): the
 * thread then simply keeps its priority.
 */
public interface Boost extends AutoCloseable {
    Boost NONE = new Boost() {
        @Override
        public boolean granted() {
            return false;
        }

        @Override
        public void close() {
        }
    };

    boolean granted();

    @Override
    void close();
}
