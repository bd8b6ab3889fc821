package io.kvmclock.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.restore.ClockCapture;
import io.kvmclock.restore.DowntimePolicy;
import io.kvmclock.restore.PreciseMethod;
import io.kvmclock.restore.RestoreMethod;
import io.kvmclock.restore.RestoreMethods;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TscScaling;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The pvclock selftest of the KVM_[GS]ET_CLOCK_GUEST series (guest TSC at 1 to 5 GHz in 500 MHz steps, TSC
 * scaling on), replayed on the model through the project's own restore path: a live update into a fresh VM
 * after a 10 ms blackout, with clock-guest and with precise.
 */
class SelftestPreciseReplayTest {

    @Test
    void clockGuestAndPreciseKeepTheFunctionAt1To5GHzWithScaling() {
        List<String> report = new ArrayList<>();
        for (TscScaling vendor : TscScaling.values()) {
            SimHostConfig cfg = SimHostConfig.clockGuestHost().withScaling(Optional.of(vendor));
            for (long khz = 1_000_000; khz <= 5_000_000; khz += 500_000) {
                for (String name : List.of("clock-guest", "precise")) {
                    try (SimHypervisor hv = SimHypervisor.create(cfg, khz)) {
                        long a = liveUpdate(hv, khz, RestoreMethods.byName(name, DowntimePolicy.ADVANCE));
                        report.add(vendor + " " + khz + " kHz " + name + ": " + a + " ns");
                        assertTrue(Math.abs(a) <= 1, vendor + " guest at " + khz + " kHz, " + name + ": " + a + " ns");
                    }
                }
            }
        }
        System.out.println(String.join("\n", report));
        assertEquals(2 * 9 * 2, report.size());
    }

    /** Boots a guest at {@code khz}, live-updates it into a fresh VM with {@code m}, returns (a) as the guest sees it. */
    private static long liveUpdate(SimHypervisor hv, long khz, RestoreMethod m) {
        Vm src = hv.createVm(VmConfig.defaults());
        src.setTscKhz(khz);
        ClockGuest g = ClockGuest.boot(src);
        g.readTsc();
        hv.elapse(1_000_000_000L);
        long tLast = g.readTsc();
        PvclockTimeInfo before = g.readPvclock();
        ClockState saved = ClockCapture.capture(hv, src, List.of(g.vcpu()), v -> g.readPvclock(), CaptureKind.LIVE_UPDATE);
        ClockGuest.Snapshot snap = g.pause(true);
        hv.elapse(10_000_000L);
        Vm dst = hv.createVm(VmConfig.defaults());
        ClockGuest d = ClockGuest.resume(dst, dst.createVcpu(0), snap);
        DemoRunner.Restored r = DemoRunner.restoreAndMeasure(hv, m, saved, before.read(tLast), d);
        assertTrue(r.result().ok(), r.result().failure());
        assertFalse(r.result().steppedBackwards());
        assertEquals(khz, d.vcpu().getTscKhz());
        if (m instanceof PreciseMethod) {
            assertEquals(0, r.report().residualNs());
        }
        src.close();
        dst.close();
        return r.result().kvmclockErrorNs();
    }
}
