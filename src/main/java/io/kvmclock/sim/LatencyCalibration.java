package io.kvmclock.sim;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.TimeScale;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Fits the model's {@link Latency} to a host by running, on fresh VMs through the Java backend (so the FFM
 * call costs are in, as the restore methods pay them), every call the model times. Bounded: at most
 * {@code vms} VMs and about {@code budgetNs} of wall time, never fewer than {@link #MIN_VMS} VMs.
 *
 * <p>The KVM_SET_CLOCK landing error is taken as PreciseMethod uses it: (h, r, k) from KVM_GET_CLOCK, then
 * KVM_SET_CLOCK(clock = k, REALTIME, realtime = r), then KVM_GET_CLOCK (h', k'): the error is k' minus the
 * old function at h' (k + host-scale(h' - h)): the host time between the new master clock reference and the
 * realtime read inside KVM_SET_CLOCK (docs/kvm-clock.md, "KVM_SET_CLOCK").
 */
public final class LatencyCalibration {
    private LatencyCalibration() {}

    public static final int MIN_VMS = 3;
    /** Keys of {@link Measured#durations} that are not {@link Latency#of} call names. */
    public static final String KVM_RUN = "KVM_RUN", FIRST_SET_CLOCK_GAP = "first KVM_SET_CLOCK gap",
            SET_CLOCK_GAP = "KVM_SET_CLOCK gap";

    /** Per key, one duration (ns) per VM; the call names are those of {@link Latency#of}. */
    public record Measured(Map<String, long[]> durations, int vms) {}

    /** Measures {@code hv} and fits the model to it. */
    public static Latency calibrate(Hypervisor hv, int vms, long budgetNs) {
        return fit(measure(hv, vms, budgetNs, hv::monotonicRawNs));
    }

    /** The model's latency from measured durations: each list resampled through its 20 ventile midpoints. */
    public static Latency fit(Measured m) {
        Map<String, Distribution> calls = new LinkedHashMap<>();
        m.durations().forEach((k, v) -> calls.put(k, Distribution.fit(ventiles(v))));
        Distribution getClock = calls.get("KVM_GET_CLOCK");
        Distribution run = calls.remove(KVM_RUN);
        Distribution first = calls.remove(FIRST_SET_CLOCK_GAP);
        Distribution gap = calls.remove(SET_CLOCK_GAP);
        return new Latency(getClock, gap, run, first, calls);
    }

    /** The 20 ventile midpoints (2.5th, 7.5th, ... 97.5th percentile) of {@code values}. */
    public static long[] ventiles(long[] values) {
        long[] s = values.clone();
        Arrays.sort(s);
        long[] out = new long[20];
        for (int q = 0; q < 20; q++) {
            out[q] = s[(int) ((q * 2 + 1) * (long) s.length / 40)];
        }
        return out;
    }

    /** Runs the calls on up to {@code vms} fresh VMs, stopping early once {@code budgetNs} of {@code clock} passed. */
    public static Measured measure(Hypervisor hv, int vms, long budgetNs, LongSupplier clock) {
        Map<String, long[]> d = new LinkedHashMap<>();
        TimeScale hostScale = TimeScale.forGuestKhz(hv.host().tscKhz());
        long start = clock.getAsLong();
        int n = 0;
        for (; n < vms && (n < MIN_VMS || clock.getAsLong() - start < budgetNs); n++) {
            int i = n;
            long t0 = clock.getAsLong();
            try (Vm vm = hv.createVm(VmConfig.defaults())) {
                long t1 = clock.getAsLong();
                Vcpu v = vm.createVcpu(0);
                long t2 = clock.getAsLong();
                ClockGuest g = ClockGuest.boot(vm, v);
                long t3 = clock.getAsLong();
                g.readTsc();
                long t4 = clock.getAsLong();
                g.readTsc();
                long t5 = clock.getAsLong();
                put(d, "KVM_CREATE_VM", i, vms, t1 - t0);
                put(d, "KVM_CREATE_VCPU", i, vms, t2 - t1);
                put(d, "KVM_SET_SREGS", i, vms, t3 - t2);
                put(d, KVM_RUN, i, vms, (t5 - t4) / 2); // one report is two KVM_RUNs
                long a = clock.getAsLong();
                ClockData c0 = vm.getClock();
                long b = clock.getAsLong();
                vm.setClock(new ClockData(c0.clock(), ClockData.REALTIME, c0.realtime(), 0));
                long c = clock.getAsLong();
                put(d, "KVM_GET_CLOCK", i, vms, b - a);
                put(d, "KVM_SET_CLOCK", i, vms, c - b);
                ClockData c2 = vm.getClock();
                vm.setClock(new ClockData(c2.clock(), ClockData.REALTIME, c2.realtime(), 0));
                ClockData c3 = vm.getClock();
                put(d, SET_CLOCK_GAP, i, vms, landing(hostScale, c2, c3));
                int size = Math.toIntExact(vm.memory().size());
                long r0 = clock.getAsLong();
                byte[] image = vm.memory().read(0, size);
                long r1 = clock.getAsLong();
                ClockGuest.Snapshot snap = g.pause(false);
                try (Vm other = hv.createVm(VmConfig.defaults())) {
                    long w0 = clock.getAsLong();
                    other.memory().write(0, image);
                    long w1 = clock.getAsLong();
                    put(d, "memory read page", i, vms, (r1 - r0) / (size / 4096));
                    put(d, "memory write page", i, vms, (w1 - w0) / (size / 4096));
                    // a restore: the old VM's (clock, realtime) set into a fresh one whose vCPU has not run
                    ClockGuest.resume(other, other.createVcpu(0), snap);
                    ClockData s0 = vm.getClock();
                    other.setClock(new ClockData(s0.clock(), ClockData.REALTIME, s0.realtime(), 0));
                    put(d, FIRST_SET_CLOCK_GAP, i, vms, landing(hostScale, s0, other.getClock()));
                }
                long f = clock.getAsLong();
                long tsc = v.getMsr(Vcpu.MSR_IA32_TSC);
                long h = clock.getAsLong();
                v.setMsr(Vcpu.MSR_IA32_TSC, tsc);
                long j = clock.getAsLong();
                long off = v.getTscOffset();
                long k = clock.getAsLong();
                v.setTscOffset(off);
                long l = clock.getAsLong();
                v.kvmclockCtrl();
                long m = clock.getAsLong();
                var cpu = v.saveCpuState();
                long o = clock.getAsLong();
                v.restoreCpuState(cpu);
                long p = clock.getAsLong();
                put(d, "KVM_GET_MSRS", i, vms, h - f);
                put(d, "KVM_SET_MSRS", i, vms, j - h);
                put(d, "KVM_GET_DEVICE_ATTR", i, vms, k - j);
                put(d, "KVM_SET_DEVICE_ATTR", i, vms, l - k);
                put(d, "KVM_KVMCLOCK_CTRL", i, vms, m - l);
                put(d, "KVM_GET_REGS", i, vms, o - m);
                put(d, "KVM_SET_REGS", i, vms, p - o);
                long q0 = clock.getAsLong();
                vm.close();
                put(d, "close", i, vms, clock.getAsLong() - q0);
            }
        }
        int done = n;
        d.replaceAll((key, v) -> Arrays.copyOf(v, done));
        return new Measured(d, done);
    }

    /** k' minus the old function at h': how far KVM_SET_CLOCK(REALTIME) landed after it (never below 0 here). */
    private static long landing(TimeScale hostScale, ClockData before, ClockData after) {
        return Math.max(0, after.clock() - (before.clock() + hostScale.scaleDelta(after.hostTsc() - before.hostTsc())));
    }

    private static void put(Map<String, long[]> d, String key, int i, int n, long v) {
        d.computeIfAbsent(key, x -> new long[n])[i] = Math.max(0, v);
    }
}
