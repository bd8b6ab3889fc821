package io.kvmclock.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.demo.DemoRunner;
import io.kvmclock.demo.MethodResult;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HostProfile;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.HostProbe;
import io.kvmclock.kvm.RealKvm;
import io.kvmclock.restore.DowntimePolicy;
import io.kvmclock.restore.PreciseMethod;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Differential: the same sequence of hv operations, driven through {@link ClockGuest}, on real KVM (skipped
 * without /dev/kvm) and on the model of this host (built from its probe, latencies calibrated on it); what the
 * sequence determines must agree.
 * Host latencies differ run to run (and the real ones jitter), so each observation is one that the
 * sequence fixes exactly: mul/shift, flags, and kvmclock identities that hold to the nanosecond.
 */
class SimVersusKvmTest {

    /** What one run of the sequence observed; every field is determined by the sequence, not by timing. */
    record Observed(int flagsBeforeRun, int flagsAfterRun, TimeScale scale, boolean stable, long initialOffset,
                    long offsetAfterWrite, boolean offsetWriteNewReference, boolean msrWriteJumped,
                    long getClockVsGuest, long setClockRealtimeLanding, long setClockLanding, int flagsAfterSetClock) {}

    static Observed sequence(Hypervisor hv) {
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            Vcpu v = vm.createVcpu(0);
            int before = vm.getClock().flags();
            long initialOffset = v.getTscOffset();
            ClockGuest g = ClockGuest.boot(vm, v);
            g.readTsc();
            PvclockTimeInfo p0 = g.readPvclock();
            int after = vm.getClock().flags();

            // KVM_GET_CLOCK vs the guest's pvclock at the same TSC: exact in master-clock mode (both are the
            // same reference and the same mul/shift without scaling)
            ClockData c = vm.getClock();
            long getVsGuest = g.kvmclockAt(c.hostTsc() + v.getTscOffset()) - c.clock();

            // KVM_SET_CLOCK(REALTIME) with the (clock, realtime) just captured: the guest's function moves
            // by the ioctl's internal gap only, i.e. it lands at or after the old function by < 10 us
            ClockData c0 = vm.getClock();
            vm.setClock(new ClockData(c0.clock(), ClockData.REALTIME, c0.realtime(), 0));
            g.readTsc();
            ClockData c1 = vm.getClock();
            long landingRt = c1.clock() - (c0.clock() + TimeScale.forGuestKhz(hv.host().tscKhz())
                    .scaleDelta(c1.hostTsc() - c0.hostTsc()));

            // KVM_SET_CLOCK(K, flags 0): the guest's pvclock system_time is exactly K at the new reference
            long k = 5_000_000_000_000L;
            vm.setClock(new ClockData(k, 0, 0, 0));
            g.readTsc();
            PvclockTimeInfo pk = g.readPvclock();
            long setLanding = pk.systemTime() - k;
            int flagsSet = vm.getClock().flags();

            // a TSC offset write: is it kept, does it take a new reference?
            v.setTscOffset(v.getTscOffset() + 1_000_000);
            long offAfter = v.getTscOffset();
            g.readTsc();
            boolean newRef = g.readPvclock().tscTimestamp() != pk.tscTimestamp();

            // a host IA32_TSC write of +1 s of cycles: does the guest TSC jump?
            long t0 = v.getMsr(Vcpu.MSR_IA32_TSC);
            v.setMsr(Vcpu.MSR_IA32_TSC, t0 + hv.host().tscKhz() * 1000);
            long t1 = v.getMsr(Vcpu.MSR_IA32_TSC);
            boolean jumped = Long.compareUnsigned(t1 - t0, hv.host().tscKhz() * 500) > 0;
            return new Observed(before, after, p0.scale(), p0.tscStable(), initialOffset, offAfter, newRef, jumped,
                    getVsGuest, landingRt, setLanding, flagsSet);
        }
    }

    /** The model of the real host {@code hv}: its probe's profile, latencies from a short calibration. */
    static SimHostConfig modelOf(Hypervisor hv) {
        HostProfile p = HostProbe.run(hv).profile();
        System.out.println("compared on " + p.summary());
        return SimHostConfig.of("this", p, LatencyCalibration.calibrate(hv, LatencyCalibration.MIN_VMS, 0));
    }

    @Tag("kvm")
    @Test
    void sameSequenceSameClockOnKvmAndModel() {
        Observed real;
        SimHostConfig thisHost;
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            thisHost = modelOf(hv);
            real = sequence(hv);
        }
        Observed model;
        try (SimHypervisor hv = SimHypervisor.create(thisHost, 11)) {
            model = sequence(hv);
        }
        System.out.println("real  " + real);
        System.out.println("model " + model);
        assertEquals(real.scale(), model.scale(), "pvclock mul/shift");
        assertEquals(TimeScale.forGuestKhz(thisHost.tscKhz()), model.scale());
        assertEquals(real.flagsBeforeRun(), model.flagsBeforeRun(), "KVM_GET_CLOCK flags before the first KVM_RUN");
        assertEquals(0, real.flagsBeforeRun());
        assertEquals(real.flagsAfterRun(), model.flagsAfterRun(), "KVM_GET_CLOCK flags once the master clock is on");
        assertEquals(0xe, real.flagsAfterRun());
        assertEquals(real.flagsAfterSetClock(), model.flagsAfterSetClock());
        assertEquals(real.stable(), model.stable(), "pvclock TSC_STABLE");
        assertEquals(real.initialOffset(), model.initialOffset(), "TSC offset of a fresh vCPU");
        assertEquals(real.offsetAfterWrite(), model.offsetAfterWrite(), "TSC offset after a write");
        assertEquals(real.offsetWriteNewReference(), model.offsetWriteNewReference(), "offset write takes a new reference");
        assertEquals(real.msrWriteJumped(), model.msrWriteJumped(),
                "a host IA32_TSC write moves the guest TSC");
        assertTrue(Math.abs(real.getClockVsGuest()) <= 1 && Math.abs(model.getClockVsGuest()) <= 1,
                "KVM_GET_CLOCK and the guest pvclock at the same TSC agree within 1 ns on both");
        assertEquals(0, real.setClockLanding(), "KVM_SET_CLOCK(K, 0) puts K at the reference exactly (real)");
        assertEquals(0, model.setClockLanding(), "KVM_SET_CLOCK(K, 0) puts K at the reference exactly (model)");
        for (long l : List.of(real.setClockRealtimeLanding(), model.setClockRealtimeLanding())) {
            assertTrue(l >= 0 && l < 10_000, "KVM_SET_CLOCK(REALTIME) lands after the old function by the gap: " + l);
        }
    }

    /**
     * Given the same captured (clock, realtime) and the same host instant, KVM_SET_CLOCK(REALTIME) defines the
     * kvmclock function up to the gap it reports back through KVM_GET_CLOCK: after subtracting each backend's
     * own landing error (its gap, measured by KVM_GET_CLOCK as PreciseMethod does), the guest's kvmclock at
     * the guest's later TSC equals old clock + gap + host-scaled elapsed cycles. The prediction evaluates the
     * scale twice where the guest evaluates it once from its own reference, and pvclock_scale_delta shifts
     * before it multiplies (shift -1 here: one dropped cycle is 0.95 ns), so three floors allow +-2 ns; the
     * single-evaluation identities (KVM_GET_CLOCK vs guest at the same TSC, SET_CLOCK(K) landing) are held to
     * +-1 ns and 0 ns in the test above.
     */
    @Tag("kvm")
    @Test
    void setClockRealtimeFunctionAgreesUpToRounding() {
        List<Long> residuals = new ArrayList<>();
        SimHostConfig thisHost;
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            thisHost = modelOf(hv);
            residuals.addAll(residuals(hv));
        }
        try (SimHypervisor hv = SimHypervisor.create(thisHost, 12)) {
            residuals.addAll(residuals(hv));
        }
        System.out.println("residuals (ns, real then model): " + residuals);
        for (long r : residuals) {
            assertTrue(Math.abs(r) <= 2, "guest kvmclock vs captured function + measured gap: " + r + " ns");
        }
    }

    /**
     * The guest's first kvmclock reading after a precise restore, against the saved function at the same TSC,
     * on real KVM and on the model of this host: within 1 ns (the first entry's re-reference on the raw clock
     * may add a second nanosecond in rare trials, never more), median 0 and without a lean either way; the model once
     * leaned +0.7 ns by letting the guest read at the very instant of that re-reference.
     */
    @Tag("kvm")
    @Test
    void firstReadingAfterAPreciseRestoreIsWithinOneNanosecondOnBoth() {
        SimHostConfig thisHost;
        long[] real;
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            thisHost = modelOf(hv);
            real = firstReadings(hv);
        }
        long[] model;
        try (SimHypervisor hv = SimHypervisor.create(thisHost, 13)) {
            model = firstReadings(hv);
        }
        System.out.println("first readings after precise (ns), real " + Arrays.toString(real) + ", model " + Arrays.toString(model));
        for (long[] a : List.of(real, model)) {
            long within = Arrays.stream(a).filter(e -> Math.abs(e) <= 1).count();
            assertTrue(within * 10 >= a.length * 9L && Arrays.stream(a).allMatch(e -> Math.abs(e) <= 2), Arrays.toString(a));
            double mean = Arrays.stream(a).average().orElseThrow();
            assertTrue(Math.abs(mean) <= 0.5, "no lean: mean " + mean + " in " + Arrays.toString(a));
            long[] sorted = a.clone();
            Arrays.sort(sorted);
            assertEquals(0, sorted[a.length / 2], "median of " + Arrays.toString(a));
        }
    }

    private static long[] firstReadings(Hypervisor hv) {
        MethodResult r = new DemoRunner(hv, 30, 0, (m, i, n) -> { }).run(List.of(new PreciseMethod(DowntimePolicy.ADVANCE)))
                .methods().getFirst();
        return assertInstanceOf(MethodResult.Ran.class, r, r.toString()).kvmclockErrors();
    }

    private static List<Long> residuals(Hypervisor hv) {
        List<Long> out = new ArrayList<>();
        TimeScale host = TimeScale.forGuestKhz(hv.host().tscKhz());
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            ClockGuest g = ClockGuest.boot(vm);
            g.readTsc();
            for (int i = 0; i < 5; i++) {
                ClockData c0 = vm.getClock();
                vm.setClock(new ClockData(c0.clock(), ClockData.REALTIME, c0.realtime(), 0));
                ClockData c1 = vm.getClock();
                long gap = c1.clock() - (c0.clock() + host.scaleDelta(c1.hostTsc() - c0.hostTsc()));
                long tsc = g.readTsc();
                long guest = g.kvmclockAt(tsc);
                long off = g.vcpu().getTscOffset();
                long predicted = c0.clock() + gap + host.scaleDelta(tsc - off - c0.hostTsc());
                out.add(guest - predicted);
            }
        }
        return out;
    }
}
