package io.kvmclock.state;

import static io.kvmclock.RecordedHosts.AMD_KHZ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import io.kvmclock.time.TscRate;
import io.kvmclock.time.TscScaling;
import org.junit.jupiter.api.Test;

/** The sample is labelled synthetic and obeys KVM's master-clock identities, so it is a fair input for tests. */
class SampleStateTest {

    private static PvclockTimeInfo pv(VcpuClockState v) {
        return ((GuestPvclock.Captured) v.pvclock()).pvclock();
    }

    @Test
    void isLabelledSynthetic() {
        ClockState s = SampleState.create(2, AMD_KHZ, AMD_KHZ);
        assertEquals(CaptureKind.SYNTHETIC, s.capture().kind());
        assertTrue(s.host().kernel().contains("synthetic"));
    }

    @Test
    void unscaledKvmGetClockIsThePvclockAtTheSameInstant() {
        ClockState s = SampleState.create(4, AMD_KHZ, AMD_KHZ);
        assertTrue(s.masterClock());
        for (VcpuClockState v : s.vcpus()) {
            // get_kvmclock evaluates the master clock at host_tsc; the guest sees it at host_tsc + offset.
            assertEquals(s.clock().clock(), pv(v).read(s.clock().hostTsc() + v.tscOffset()), "vCPU " + v.id());
            assertEquals(TimeScale.forGuestKhz(AMD_KHZ), pv(v).scale());
            assertInstanceOf(TscRate.Unscaled.class, v.scaling());
        }
    }

    @Test
    void scaledGuestTscFollowsTheVmxRatio() {
        ClockState s = SampleState.create(2, AMD_KHZ, 1_800_000);
        for (VcpuClockState v : s.vcpus()) {
            TscRate.Scaled h = assertInstanceOf(TscRate.Scaled.class, v.scaling());
            assertEquals(TscScaling.VMX, h.scaling());
            long guestAtHostTsc = h.scaling().scale(s.clock().hostTsc(), h.ratio()) + v.tscOffset();
            long viaGuest = pv(v).read(guestAtHostTsc);
            // Host and guest mul/shift each truncate (< 0.5 ppb) over the 20 s since the reference.
            assertTrue(Math.abs(viaGuest - s.clock().clock()) <= 40, viaGuest + " vs " + s.clock().clock());
            assertEquals(1_800_000_000L, pv(v).scale().toHz());
        }
    }

    @Test
    void guestTscsStartFromZeroAtCreationAndMoveForward() {
        ClockState s = SampleState.create(3, AMD_KHZ, AMD_KHZ);
        long previous = 0;
        for (VcpuClockState v : s.vcpus()) {
            assertTrue(v.tscOffset() < 0, "offset = -host TSC at creation");
            assertTrue(Long.compareUnsigned(v.guestTsc(), previous) > 0);
            previous = v.guestTsc();
        }
    }
}
