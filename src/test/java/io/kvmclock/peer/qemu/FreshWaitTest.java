package io.kvmclock.peer.qemu;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The end of a wait for a fresh heartbeat, on made-up times: a stalled guest, a starved reader, and neither. */
class FreshWaitTest {
    private static final long S = 1_000_000_000L;
    private static final Duration STALL = Duration.ofSeconds(10);
    private static final Duration PATIENCE = Duration.ofSeconds(120);

    @Test
    void aGuestThatKeepsPublishingIsWaitedForPastTheStallLimit() {
        FreshWait w = new FreshWait(0, 0, STALL, PATIENCE);
        // a heartbeat every second for 100 s: ten times the stall limit, and still waiting
        for (long t = 1; t <= 100; t++) {
            long now = t * S;
            long seq = 2 * t;
            assertDoesNotThrow(() -> w.saw(seq, now));
        }
    }

    @Test
    void aGuestThatStopsPublishingFailsAfterTheStallLimitSayingSo() {
        FreshWait w = new FreshWait(0, 6, STALL, PATIENCE);
        w.saw(8, 5 * S);
        assertDoesNotThrow(() -> w.saw(8, 15 * S), "10 s since the last heartbeat, not more");
        QemuException e = assertThrows(QemuException.class, () -> w.saw(8, 15 * S + 1));
        assertEquals(QemuException.Kind.FAILURE, e.kind());
        assertTrue(e.getMessage().startsWith("the guest published no heartbeat for 10000 ms: its vCPU is not running"),
                e.getMessage());
    }

    @Test
    void aRunningGuestNeverCaughtFreshIsAnEnvironmentErrorThatSaysWhatToDo() {
        // the sequence wraps at 2^32 on the way: 0xFFFFFFFE -> 2 is two heartbeats
        FreshWait w = new FreshWait(0, 0xFFFF_FFFEL, STALL, PATIENCE);
        w.saw(2, 60 * S);
        w.saw(4, 120 * S);
        QemuException e = assertThrows(QemuException.class, () -> w.saw(6, 120 * S + 1));
        assertEquals(QemuException.Kind.ENVIRONMENT, e.kind());
        assertTrue(e.getMessage().startsWith("no fresh heartbeat from the guest in 120 s although it published 4:"), e.getMessage());
        assertTrue(e.getMessage().endsWith("run it with fewer other jobs or on more CPUs"), e.getMessage());
    }
}
