package io.kvmclock.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HostClocks;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.restore.ClockCapture;
import io.kvmclock.restore.DocumentedMethod;
import io.kvmclock.restore.DowntimePolicy;
import io.kvmclock.restore.QemuMethod;
import io.kvmclock.restore.TscPlan;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.Placement;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import io.kvmclock.time.TscRate;
import io.kvmclock.time.Units;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The measurement's expectation is derived apart from the restore methods' TscPlan: the two derivations must
 * agree for every policy and placement, or one of them is wrong; and the comparison with the saved pvclock never
 * wraps where a restored guest TSC lands below the saved tsc_timestamp.
 */
class RestoreMeasurementTest {

    private static ClockState captured(Hypervisor hv) {
        ClockGuest g = ClockGuest.boot(hv.createVm(VmConfig.defaults()));
        g.readTsc();
        hv.elapse(3_000_000);
        g.readTsc();
        ClockState saved = ClockCapture.capture(hv, g.vm(), List.of(g.vcpu()), v -> g.readPvclock(), CaptureKind.LIVE_UPDATE);
        g.vm().close();
        return saved;
    }

    /** A saved state, and a destination KVM_GET_CLOCK reading {@code pauseNs} later as the master clock gives it. */
    private record Later(ClockState saved, ClockData at) {}

    private static Later savedThenLater(long seed, long pauseNs) {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), seed)) {
            ClockState saved = captured(hv);
            hv.elapse(pauseNs);
            HostClocks c = hv.readHostClocks();
            return new Later(saved, new ClockData(0, ClockData.HOST_TSC | ClockData.REALTIME, c.realtimeNs(), c.tsc()));
        }
    }

    @Test
    void theExpectedGuestTscAgreesWithTheRestorePlanForEveryPolicyAndPlacement() {
        Later l = savedThenLater(11, 2_000_000);
        TscRate rate = TscRate.UNSCALED;
        for (DowntimePolicy policy : DowntimePolicy.values()) {
            for (Placement.Kind kind : Placement.Kind.values()) {
                long planned = rate.scale(l.at().hostTsc())
                        + new TscPlan(policy, kind.isLiveUpdate()).offsetFor(l.saved(), 0, l.at(), rate);
                assertEquals(planned, RestoreMeasurement.expectedGuestTsc(l.saved(), 0, policy, kind, l.at(), rate),
                        policy + " on " + kind);
            }
        }
    }

    @Test
    void eachCaseFollowsItsOwnDefinition() {
        Later l = savedThenLater(12, 7_000_000);
        ClockState saved = l.saved();
        ClockData at = l.at();
        long khz = saved.vcpus().getFirst().tscKhz();
        long g0 = saved.clock().hostTsc() + saved.vcpus().getFirst().tscOffset();
        TscRate rate = TscRate.UNSCALED;
        assertEquals(g0, RestoreMeasurement.expectedGuestTsc(saved, 0, DowntimePolicy.FREEZE, Placement.Kind.SAME_BOOT, at, rate));
        assertEquals(g0 + (at.hostTsc() - saved.clock().hostTsc()),
                RestoreMeasurement.expectedGuestTsc(saved, 0, DowntimePolicy.ADVANCE, Placement.Kind.KEXEC, at, rate));
        long realNs = at.realtime() - saved.clock().realtime();
        assertTrue(realNs >= 7_000_000, "realtime went on: " + realNs);
        assertEquals(g0 + Units.nsToCycles(realNs, khz),
                RestoreMeasurement.expectedGuestTsc(saved, 0, DowntimePolicy.ADVANCE, Placement.Kind.MIGRATION, at, rate));
    }

    @Test
    void theSavedFunctionExtendsBelowItsTimestampInsteadOfWrapping() {
        // 1 GHz: one cycle is one ns
        PvclockTimeInfo p = PvclockTimeInfo.of(2, 1_000_000, 5_000_000, TimeScale.forGuestKhz(1_000_000), 1);
        assertEquals(5_000_100, RestoreMeasurement.extended(p, 1_000_100));
        assertEquals(p.read(1_000_100), RestoreMeasurement.extended(p, 1_000_100));
        assertEquals(4_999_900, RestoreMeasurement.extended(p, 999_900));
        assertTrue(Math.abs(p.read(999_900)) > 1_000_000_000_000L, "the kernel's u64 read wraps there: " + p.read(999_900));
    }

    @Test
    void qemuOnTheV6ModelReportsAnErrorOfTheSizeTheGuestTscMoved() {
        // On the v6 model a young guest's IA32_TSC write lands within kvm_synchronize_tsc's one second and is
        // taken as a synchronisation, so its TSC may resume below the saved pvclock's tsc_timestamp.
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.v6Host(), 5)) {
            MethodResult.Ran r = assertInstanceOf(MethodResult.Ran.class,
                    new DemoRunner(hv, 10, 0, (m, i, n) -> { }).runMethod(new QemuMethod()));
            for (TrialResult.Measured t : r.ok()) {
                long cycles = Math.abs(t.tscErrorCycles());
                long ns = Math.abs(t.kvmclockErrorNs());
                assertTrue(ns < 2 * Units.cyclesToNs(cycles, hv.host().tscKhz()) + 1_000_000,
                        "kvmclock error " + t.kvmclockErrorNs() + " ns for a TSC error of " + t.tscErrorCycles() + " cycles");
            }
        }
    }

    @Test
    void aCorrectRestoreMeasuresNoTscError() {
        try (Hypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 6)) {
            MethodResult.Ran r = assertInstanceOf(MethodResult.Ran.class,
                    new DemoRunner(hv, 5, 0, (m, i, n) -> { }).runMethod(new DocumentedMethod()));
            assertEquals(Optional.empty(), r.trials().stream().filter(t -> !(t instanceof TrialResult.Measured)).findFirst());
            // documented writes the planned offset from its own KVM_GET_CLOCK: what is left is the time from
            // that reading to the measurement's and its kvmclock-based elapsed time, a few microseconds of cycles
            for (TrialResult.Measured t : r.ok()) {
                assertTrue(Math.abs(t.tscErrorCycles()) < Units.nsToCycles(1_000_000, hv.host().tscKhz()),
                        "TSC error " + t.tscErrorCycles());
            }
        }
    }
}
