package io.kvmclock.bench;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.KvmHypervisor;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * What io.kvmclock.sim.Latency.thisMachine() is fitted to, measured through the Java backend (so FFM call
 * costs are included, as the restore methods pay them), plus the vendor-module facts SimHostConfig.thisMachine()
 * encodes. Run on real KVM, or with {@code sim} as the first argument on the model to compare:
 * {@code bench/run-jmh -l >/dev/null; java --enable-native-access=ALL-UNNAMED -cp target/test-classes:target/classes:$(cat target/test-classpath.txt) io.kvmclock.bench.SimLatencyFit [kvm|sim] [N]}
 *
 * <p>The KVM_SET_CLOCK landing error is taken exactly as PreciseMethod uses it: (h, r, k) from KVM_GET_CLOCK,
 * then KVM_SET_CLOCK(clock = k, REALTIME, realtime = r), then KVM_GET_CLOCK (h', k'): the error is k' minus
 * the old function at h' (k + host-scale(h' - h)). With an exact realtime/TSC pair in KVM_GET_CLOCK it is the
 * host time between the new master clock reference and the realtime read inside KVM_SET_CLOCK.
 */
public final class SimLatencyFit {
    private SimLatencyFit() {}

    public static void main(String[] args) {
        boolean sim = args.length > 0 && args[0].equals("sim");
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        try (Hypervisor hv = sim ? SimHypervisor.create(SimHostConfig.thisMachine(), 7) : KvmHypervisor.open()) {
            LongSupplier clock = sim ? ((SimHypervisor) hv)::now : System::nanoTime;
            facts(hv);
            Map<String, long[]> d = new LinkedHashMap<>();
            long[] firstGap = new long[n];
            long[] repeatGap = new long[n];
            long[] restoreGap = new long[n];
            TimeScale hostScale = TimeScale.forGuestKhz(hv.host().tscKhz());
            for (int i = 0; i < n; i++) {
                long t0 = clock.getAsLong();
                Vm vm = hv.createVm(VmConfig.defaults());
                long t1 = clock.getAsLong();
                Vcpu v = vm.createVcpu(0);
                long t2 = clock.getAsLong();
                ClockGuest g = ClockGuest.boot(vm, v);
                long t3 = clock.getAsLong();
                g.readTsc();
                long t4 = clock.getAsLong();
                g.readTsc();
                long t5 = clock.getAsLong();
                put(d, "KVM_CREATE_VM+memory", i, n, t1 - t0);
                put(d, "KVM_CREATE_VCPU", i, n, t2 - t1);
                put(d, "boot: code write + KVM_SET_SREGS/REGS", i, n, t3 - t2);
                put(d, "first report (2 KVM_RUN, enables kvmclock)", i, n, t4 - t3);
                put(d, "TSC report (2 KVM_RUN)", i, n, t5 - t4);
                long a = clock.getAsLong();
                ClockData c0 = vm.getClock();
                long b = clock.getAsLong();
                vm.setClock(new ClockData(c0.clock(), ClockData.REALTIME, c0.realtime(), 0));
                long c = clock.getAsLong();
                ClockData c1 = vm.getClock();
                firstGap[i] = c1.clock() - (c0.clock() + hostScale.scaleDelta(c1.hostTsc() - c0.hostTsc()));
                put(d, "KVM_GET_CLOCK", i, n, b - a);
                put(d, "KVM_SET_CLOCK(REALTIME)", i, n, c - b);
                ClockData c2 = vm.getClock();
                vm.setClock(new ClockData(c2.clock(), ClockData.REALTIME, c2.realtime(), 0));
                ClockData c3 = vm.getClock();
                repeatGap[i] = c3.clock() - (c2.clock() + hostScale.scaleDelta(c3.hostTsc() - c2.hostTsc()));
                int size = Math.toIntExact(vm.memory().size());
                long r0 = clock.getAsLong();
                byte[] image = vm.memory().read(0, size);
                long r1 = clock.getAsLong();
                ClockGuest.Snapshot snap = g.pause(false);
                try (Vm other = hv.createVm(VmConfig.defaults())) {
                    long w0 = clock.getAsLong();
                    other.memory().write(0, image);
                    long w1 = clock.getAsLong();
                    put(d, "guest memory read, per 4 KiB page", i, n, (r1 - r0) / (size / 4096));
                    put(d, "guest memory write to a fresh VM, per 4 KiB page", i, n, (w1 - w0) / (size / 4096));
                    // a restore: the saved (clock, realtime) of the old VM set into a fresh one whose vCPU
                    // has not run (DocumentedMethod's KVM_SET_CLOCK), landing measured against the old function
                    ClockGuest.resume(other, other.createVcpu(0), snap);
                    ClockData s0 = vm.getClock();
                    other.setClock(new ClockData(s0.clock(), ClockData.REALTIME, s0.realtime(), 0));
                    ClockData s1 = other.getClock();
                    restoreGap[i] = s1.clock() - (s0.clock() + hostScale.scaleDelta(s1.hostTsc() - s0.hostTsc()));
                }
                long e = clock.getAsLong();
                vm.setClock(new ClockData(c3.clock(), 0, 0, 0));
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
                vm.close();
                long q = clock.getAsLong();
                put(d, "KVM_SET_CLOCK(0)", i, n, f - e);
                put(d, "KVM_GET_MSRS(IA32_TSC)", i, n, h - f);
                put(d, "KVM_SET_MSRS(IA32_TSC)", i, n, j - h);
                put(d, "KVM_GET_DEVICE_ATTR(TSC_OFFSET)", i, n, k - j);
                put(d, "KVM_SET_DEVICE_ATTR(TSC_OFFSET)", i, n, l - k);
                put(d, "KVM_KVMCLOCK_CTRL", i, n, m - l);
                put(d, "save CPU state (GET_REGS/SREGS)", i, n, o - m);
                put(d, "restore CPU state (SET_REGS/SREGS)", i, n, p - o);
                put(d, "close VM", i, n, q - p);
                if (sim) {
                    hv.elapse(1_000_000);
                }
            }
            System.out.printf("%n%s, %d fresh VMs, durations through the Java backend (ns)%n", hv.backend(), n);
            d.forEach(SimLatencyFit::print);
            print("SET_CLOCK landing error, first call in a VM", firstGap);
            print("SET_CLOCK landing error, second call", repeatGap);
            print("SET_CLOCK landing error, restore into a fresh VM", restoreGap);
            System.out.println();
            System.out.println("    // FITTED-BEGIN (generated by SimLatencyFit)");
            String[][] names = {{"KVM_CREATE_VM", "KVM_CREATE_VM+memory"}, {"KVM_CREATE_VCPU", "KVM_CREATE_VCPU"},
                {"BOOT", "boot: code write + KVM_SET_SREGS/REGS"}, {"KVM_GET_CLOCK", "KVM_GET_CLOCK"},
                {"KVM_SET_CLOCK", "KVM_SET_CLOCK(REALTIME)"}, {"KVM_GET_MSRS", "KVM_GET_MSRS(IA32_TSC)"},
                {"KVM_SET_MSRS", "KVM_SET_MSRS(IA32_TSC)"}, {"KVM_GET_DEVICE_ATTR", "KVM_GET_DEVICE_ATTR(TSC_OFFSET)"},
                {"KVM_SET_DEVICE_ATTR", "KVM_SET_DEVICE_ATTR(TSC_OFFSET)"}, {"KVM_KVMCLOCK_CTRL", "KVM_KVMCLOCK_CTRL"},
                {"SAVE_CPU", "save CPU state (GET_REGS/SREGS)"},
                {"MEMORY_READ_PAGE", "guest memory read, per 4 KiB page"},
                {"MEMORY_WRITE_PAGE", "guest memory write to a fresh VM, per 4 KiB page"}, {"RESTORE_CPU", "restore CPU state (SET_REGS/SREGS)"},
                {"CLOSE_VM", "close VM"}};
            for (String[] nm : names) {
                System.out.println(ventiles(nm[0], d.get(nm[1]), 1));
            }
            System.out.println(ventiles("KVM_RUN", d.get("TSC report (2 KVM_RUN)"), 2));
            System.out.println(ventiles("FIRST_SET_CLOCK_GAP_NS", restoreGap, 1));
            System.out.println(ventiles("SET_CLOCK_GAP_NS", repeatGap, 1));
            System.out.println("    // FITTED-END");
        }
    }

    /** The vendor-module behaviour SimHostConfig encodes: offsets at creation, ignored TSC writes, master clock. */
    private static void facts(Hypervisor hv) {
        try (Vm vm = hv.createVm(VmConfig.defaults())) {
            Vcpu v = vm.createVcpu(0);
            long h0 = hv.readHostClocks().tsc();
            long msr = v.getMsr(Vcpu.MSR_IA32_TSC);
            System.out.printf("fresh vCPU: TSC offset %d, guest IA32_TSC - host TSC %d cycles%n", v.getTscOffset(),
                    msr - h0);
            System.out.printf("fresh VM with one vCPU, before KVM_RUN: KVM_GET_CLOCK flags 0x%x%n", vm.getClock().flags());
            ClockGuest g = ClockGuest.boot(vm, v);
            g.readTsc();
            PvclockTimeInfo p0 = g.readPvclock();
            System.out.printf("after the first KVM_RUN: flags 0x%x, pvclock %s%n", vm.getClock().flags(), p0);
            v.setTscOffset(v.getTscOffset() + 1_000_000);
            long ts = g.readTsc();
            PvclockTimeInfo p1 = g.readPvclock();
            System.out.printf("after TSC offset +1e6: offset %d, new reference %b, kvmclock step %d ns%n",
                    v.getTscOffset(), p1.tscTimestamp() != p0.tscTimestamp(), p1.read(ts) - p0.read(ts));
            for (int i = 0; i < 5; i++) {
                PvclockTimeInfo a = g.readPvclock();
                v.setTscOffset(1 + i);
                long t2 = g.readTsc();
                PvclockTimeInfo b = g.readPvclock();
                System.out.printf("  offset write %d: new reference %b, kvmclock step %d ns%n", 1 + i,
                        a.tscTimestamp() != b.tscTimestamp(), b.read(t2) - a.read(t2));
            }
            p1 = g.readPvclock();
            long before = v.getMsr(Vcpu.MSR_IA32_TSC);
            v.setMsr(Vcpu.MSR_IA32_TSC, before + 1_000_000_000L);
            long after = v.getMsr(Vcpu.MSR_IA32_TSC);
            g.readTsc();
            PvclockTimeInfo p2 = g.readPvclock();
            System.out.printf("after IA32_TSC write +1e9: TSC moved by %d cycles, offset %d, new reference %b%n",
                    after - before, v.getTscOffset(), p2.tscTimestamp() != p1.tscTimestamp());
        }
    }

    /** A Java constant: the 20 ventile midpoints of {@code values} divided by {@code per}. */
    private static String ventiles(String name, long[] values, int per) {
        long[] s = values.clone();
        Arrays.sort(s);
        StringBuilder b = new StringBuilder("    private static final long[] " + name + " = {");
        for (int q = 0; q < 20; q++) {
            b.append(q == 0 ? "" : ", ").append(s[(int) ((q * 2 + 1) * (long) s.length / 40)] / per);
        }
        return b.append("};").toString();
    }

    private static void put(Map<String, long[]> d, String key, int i, int n, long v) {
        d.computeIfAbsent(key, x -> new long[n])[i] = v;
    }

    private static void print(String what, long[] values) {
        long[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        System.out.printf("%-46s min %8d  p10 %8d  p50 %8d  p90 %8d  p99 %8d  max %9d%n", what, s[0], s[n / 10], s[n / 2],
                s[n * 9 / 10], s[n * 99 / 100], s[n - 1]);
    }
}
