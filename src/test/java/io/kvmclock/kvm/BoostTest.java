package io.kvmclock.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvmclock.hv.Boost;
import io.kvmclock.hv.Hypervisor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The blackout's real-time priority: on while the handle is open, back to SCHED_OTHER after, threads not inheriting it. */
class BoostTest {

    @Tag("kvm")
    @Test
    void theThreadRunsRealTimeOnlyWhileBoosted() throws Exception {
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            assumeTrue(Native.schedPolicy() == Native.SCHED_OTHER, "skipped: the test thread is already real-time");
            try (Boost b = hv.boostCurrentThread()) {
                assumeTrue(b.granted(), "skipped: this user may not use SCHED_FIFO (needs CAP_SYS_NICE)");
                assertEquals(Native.SCHED_FIFO, Native.schedPolicy() & ~Native.SCHED_RESET_ON_FORK);
                int[] child = new int[1];
                Thread t = new Thread(() -> child[0] = Native.schedPolicy());
                t.start();
                t.join();
                assertEquals(Native.SCHED_OTHER, child[0], "a thread started during the blackout inherited real-time priority");
            }
            assertEquals(Native.SCHED_OTHER, Native.schedPolicy());
        }
    }
}
