package io.kvmclock.sim;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class SimDeterminismTest {

    private static List<String> run(long seed) {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.clockGuestHost(), seed)) {
            return HvSequence.hotplugAndOffsetWrite(hv, 20_000_000_000L);
        }
    }

    @Test
    void sameSeedSameLog() {
        List<String> a = run(1234);
        assertEquals(a, run(1234));
        assertEquals(6, a.size());
    }

    @Test
    void latencyDrawsDependOnTheSeed() {
        assertNotEquals(run(1), run(2), "the seeded ioctl latencies show up in the clock values");
    }
}
