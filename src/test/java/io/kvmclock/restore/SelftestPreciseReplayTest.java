package io.kvmclock.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.demo.DemoRunner;
import io.kvmclock.demo.TrialResult;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.TscScale;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.Placement;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TscScaling;
import io.kvmclock.time.U128;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The kernel selftests of the KVM_[GS]ET_CLOCK_GUEST series replayed on the model through the project's own
 * capture and restore path: v5's pvclock_test on a 6.18 host with the v5 ioctls, and the v6 series' three
 * (pvclock_test, pvclock_migration_test, masterclock_offset_test; docs/v6-series.md) on the v6 host. Each
 * prints the kernel's tolerance beside what each method reached (the README's replay table), and asserts
 * the project's bound for precise, +-1 ns where the kernel's test allows +-2, and the kernel's for the others.
 */
class SelftestPreciseReplayTest {
    private static final List<String> V6_METHODS = List.of("documented-v6", "clock-guest", "precise");
    private static final long KERNEL_TOLERANCE_NS = 2;
    private static final long OURS_NS = 1;

    /** The largest |error| each method reached over a replay's cases, and how many were within 1 ns, for the table. */
    private static final class Worst {
        final Map<String, Long> byMethod = new LinkedHashMap<>();
        final Map<String, long[]> withinOne = new LinkedHashMap<>();
        final List<String> lines = new ArrayList<>();

        void add(String what, String method, long a) {
            byMethod.merge(method, Math.abs(a), Math::max);
            long[] n = withinOne.computeIfAbsent(method, k -> new long[2]);
            n[0] += Math.abs(a) <= OURS_NS ? 1 : 0;
            n[1]++;
            lines.add(what + " " + method + ": " + a + " ns");
        }

        String row(String test) {
            StringBuilder b = new StringBuilder("| " + test + " | +-" + KERNEL_TOLERANCE_NS + " ns |");
            byMethod.forEach((m, v) -> b.append(" ").append(m).append(" max ").append(v).append(" ns, ")
                    .append(withinOne.get(m)[0]).append("/").append(withinOne.get(m)[1]).append(" within 1 ns;"));
            return b.append(" |").toString();
        }
    }

    /**
     * What a method must reach. KVM_SET_CLOCK_GUEST makes the restored pvclock equal the saved function at the
     * new reference (floored there); the guest's readings then differ from the saved pvclock by the two
     * structures' own rounding: floor((a >> s) * mul) + floor((b >> s) * mul) against floor(((a + b) >> s) * mul),
     * -2..0 ns with a negative shift. On v6 nothing takes another reference before the guest runs (patch 27); on
     * 6.18 with the v5 ioctls the first entry serves the master clock update that vCPU creation filed and
     * re-rounds by up to a nanosecond either way. documented-v6 and clock-guest (the kernel's ioctl as it is)
     * are held to the kernel test's +-2 (docs/model.md, "The lean"); precise, which measures the restored
     * function on exact readings, to +-1.
     */
    private static long bound(String method) {
        return method.equals("precise") ? OURS_NS : KERNEL_TOLERANCE_NS;
    }

    @Test
    void clockGuestAndPreciseKeepTheFunctionAt1To5GHzWithScaling() {
        Worst w = new Worst();
        int roundsBefore = PRECISE_ROUNDS.size();
        for (TscScaling vendor : TscScaling.values()) {
            SimHostConfig cfg = SimHostConfig.clockGuestHost().withScaling(Optional.of(vendor));
            for (long khz = 1_000_000; khz <= 5_000_000; khz += 500_000) {
                for (String name : List.of("clock-guest", "precise")) {
                    try (SimHypervisor hv = SimHypervisor.create(cfg, khz)) {
                        long a = liveUpdate(hv, khz, 0, 10_000_000L, RestoreMethods.byName(name, DowntimePolicy.ADVANCE));
                        w.add(vendor + " " + khz + " kHz", name, a);
                        assertTrue(Math.abs(a) <= bound(name), vendor + " guest at " + khz + " kHz, " + name + ": " + a + " ns");
                    }
                }
            }
        }
        System.out.println(String.join("\n", w.lines));
        System.out.println(w.row("v5 pvclock_test on 6.18 + v5 ioctls (VMX, SVM; 1-5 GHz; " + w.lines.size() + " restores)"));
        System.out.println("precise KVM_SET_CLOCK rounds, VMX then SVM, 1-5 GHz: " + PRECISE_ROUNDS.subList(roundsBefore, PRECISE_ROUNDS.size()));
        assertEquals(2 * 9 * 2, w.lines.size());
    }

    /**
     * v6 pvclock_test: native rate, then 1-5 GHz in 500 MHz steps, each saved, paused 2 s (the test's default
     * -s) and restored; the guest's offsets 0 and 1e9 both restore.
     */
    @Test
    void v6PvclockTestNativeAnd1To5GHz() {
        Worst w = new Worst();
        for (TscScaling vendor : TscScaling.values()) {
            SimHostConfig cfg = SimHostConfig.v6Host().withScaling(Optional.of(vendor));
            List<Long> rates = new ArrayList<>();
            rates.add(0L); // native
            for (long khz = 1_000_000; khz <= 5_000_000; khz += 500_000) {
                rates.add(khz);
            }
            for (long khz : rates) {
                for (long offset : new long[] {0, 1_000_000_000L}) {
                    for (String name : V6_METHODS) {
                        try (SimHypervisor hv = SimHypervisor.create(cfg, khz + offset)) {
                            long a = liveUpdate(hv, khz, offset, 2_000_000_000L, RestoreMethods.byName(name, DowntimePolicy.ADVANCE));
                            w.add(vendor + " " + (khz == 0 ? "native" : khz + " kHz") + " offset " + offset, name, a);
                            assertTrue(Math.abs(a) <= bound(name), vendor + " " + khz + " kHz offset " + offset + ", " + name + ": " + a + " ns");
                        }
                    }
                }
            }
        }
        System.out.println(String.join("\n", w.lines));
        System.out.println(w.row("v6 pvclock_test (VMX, SVM; native, 1-5 GHz; offsets 0, 1e9; 2 s pause; "
                + w.lines.size() + " restores)"));
        assertEquals(2 * 10 * 2 * 3, w.lines.size());
    }

    /** v6 pvclock_test's stable-bit cases, two vCPUs: matched, one offset by 12345678, one at half the frequency. */
    @Test
    void v6PvclockTestStableBitCases() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.v6Host(), 21)) {
            Vm vm = twoVcpus(hv, 0, 0);
            assertTrue(vm.vcpus().get(1).getClockGuest().tscStable(), "matched TSCs: PVCLOCK_TSC_STABLE_BIT set");
            vm.close();
            vm = twoVcpus(hv, 12_345_678L, 0);
            assertFalse(vm.vcpus().get(1).getClockGuest().tscStable(), "offset TSCs: PVCLOCK_TSC_STABLE_BIT clear");
            assertTrue(vm.getClock().has(ClockData.TSC_STABLE), "offset TSCs keep the v6 master clock");
            vm.close();
            Vm half = twoVcpus(hv, 0, hv.host().tscKhz() / 2);
            HvException e = assertThrows(HvException.class, () -> half.vcpus().get(1).getClockGuest());
            assertTrue(e.is(Errno.EINVAL), "different frequencies: no master clock, KVM_GET_CLOCK_GUEST EINVAL: " + e.getMessage());
            half.close();
            System.out.println("| v6 pvclock_test stable-bit cases (2 vCPUs) | matched set, offset clear, half"
                    + " frequency EINVAL | the same |");
        }
    }

    /** A VM whose vCPU 1 has {@code offset} added to its TSC offset and, if non-zero, {@code khz}; both run. */
    private static Vm twoVcpus(Hypervisor hv, long offset, long khz) {
        Vm vm = hv.createVm(VmConfig.defaults());
        Vcpu v0 = vm.createVcpu(0);
        Vcpu v1 = vm.createVcpu(1);
        if (khz != 0) {
            v1.setTscKhz(khz);
        }
        if (offset != 0) {
            v1.setTscOffset(v1.getTscOffset() + offset);
        }
        for (Vcpu v : List.of(v0, v1)) {
            ClockGuest.boot(vm, v).readTsc();
        }
        return vm;
    }

    /**
     * v6 pvclock_migration_test: a 1.5 GHz guest, the documented steps with a 1 s pause; the source and
     * destination pvclocks must agree within +-2 ns. Also to a peer host at another TSC rate, which the
     * rewritten steps are for.
     */
    @Test
    void v6PvclockMigrationTest() {
        Worst w = new Worst();
        for (String name : V6_METHODS) {
            try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.v6Host(), 31)) {
                long a = liveUpdate(hv, 1_500_000, 0, 1_000_000_000L, RestoreMethods.byName(name, DowntimePolicy.ADVANCE));
                w.add("same host", name, a);
                assertTrue(Math.abs(a) <= bound(name), name + ": " + a + " ns");
            }
            try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.v6Host(), 32)) {
                SimHypervisor peer = hv.peerAt(2_995_200);
                long a = migrate(hv, peer, 1_500_000, 1_000_000_000L, RestoreMethods.byName(name, DowntimePolicy.ADVANCE));
                w.add("to a 2.9952 GHz peer", name, a);
                assertTrue(Math.abs(a) <= bound(name), name + " across hosts: " + a + " ns");
                peer.close();
            }
        }
        System.out.println(String.join("\n", w.lines));
        System.out.println(w.row("v6 pvclock_migration_test (1.5 GHz guest, 1 s pause; same host and a 2.9952 GHz peer)"));
    }

    /**
     * v6 masterclock_offset_test: three vCPUs, vCPU 2 offset by +1e9 cycles. KVM_GET_CLOCK has HOST_TSC and
     * TSC_STABLE, the pvclock's TSC_STABLE bit is clear, every vCPU has the same mul/shift and exactly the same
     * kvmclock at one host TSC; again after KVM_SET_CLOCK one hour ahead. On the 6.18 host the same scenario
     * loses the master clock.
     */
    @Test
    void v6MasterclockOffsetTest() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.v6Host(), 41)) {
            Vm vm = threeVcpusOneOffset(hv);
            for (int round = 0; round < 2; round++) {
                ClockData c = vm.getClock();
                assertTrue(c.has(ClockData.HOST_TSC) && c.has(ClockData.TSC_STABLE), "KVM_GET_CLOCK flags 0x" + Integer.toHexString(c.flags()));
                List<PvclockTimeInfo> p = new ArrayList<>();
                for (Vcpu v : vm.vcpus()) {
                    p.add(v.getClockGuest());
                }
                List<Long> at = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    assertFalse(p.get(i).tscStable(), "vCPU " + i + ": PVCLOCK_TSC_STABLE_BIT with unequal offsets");
                    assertEquals(p.getFirst().scale(), p.get(i).scale(), "same mul/shift");
                    at.add(p.get(i).read(guestTscAt(vm.vcpus().get(i), c.hostTsc())));
                }
                assertEquals(at.getFirst(), at.get(1), "kvmclock vCPU0 vs vCPU1, round " + round);
                assertEquals(at.getFirst(), at.get(2), "kvmclock vCPU0 vs vCPU2 (+1e9 offset), round " + round);
                assertEquals(c.clock(), (long) at.getFirst(), "v6 KVM_GET_CLOCK reads what the guests read");
                System.out.println("masterclock_offset_test round " + round + ": kvmclock " + at + " at host TSC "
                        + Long.toUnsignedString(c.hostTsc()) + ", KVM_GET_CLOCK " + c.clock());
                vm.setClock(new ClockData(c.clock() + 3_600_000_000_000L, 0, 0, 0));
                for (Vcpu v : vm.vcpus()) {
                    ClockGuest.boot(vm, v).readTsc();
                }
            }
            System.out.println("| v6 masterclock_offset_test (3 vCPUs, one +1e9; again after KVM_SET_CLOCK +1 h) | exactly equal |"
                    + " equal in both rounds, KVM_GET_CLOCK the same value; 6.18: master clock off, EINVAL |");
        }
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.clockGuestHost(), 41)) {
            Vm vm = threeVcpusOneOffset(hv);
            assertFalse(vm.getClock().has(ClockData.TSC_STABLE), "6.18: unequal offsets turn the master clock off");
            HvException e = assertThrows(HvException.class, () -> vm.vcpus().get(2).getClockGuest());
            assertTrue(e.is(Errno.EINVAL));
        }
    }

    private static Vm threeVcpusOneOffset(Hypervisor hv) {
        Vm vm = hv.createVm(VmConfig.defaults());
        for (int i = 0; i < 3; i++) {
            vm.createVcpu(i);
        }
        Vcpu v2 = vm.vcpus().get(2);
        v2.setTscOffset(v2.getTscOffset() + 1_000_000_000L);
        for (Vcpu v : vm.vcpus()) {
            ClockGuest.boot(vm, v).readTsc();
        }
        return vm;
    }

    /** guest_tsc = ((host_tsc * tsc_ratio) >> tsc_frac_bits) + KVM_VCPU_TSC_OFFSET (v6 patch 09's formula). */
    private static long guestTscAt(Vcpu v, long hostTsc) {
        TscScale s = v.getTscScale();
        return U128.mulShr(hostTsc, s.tscRatio(), (int) s.tscFracBits()) + v.getTscOffset();
    }

    /**
     * Boots a guest at {@code khz} (0: the host's) with {@code offset} more on its TSC, live-updates it into a
     * fresh VM with {@code m} after {@code pauseNs}, returns (a) as the guest sees it.
     */
    private static long liveUpdate(SimHypervisor hv, long khz, long offset, long pauseNs, RestoreMethod m) {
        return migrate(hv, hv, khz, offset, pauseNs, m);
    }

    private static long migrate(SimHypervisor from, SimHypervisor to, long khz, long pauseNs, RestoreMethod m) {
        return migrate(from, to, khz, 0, pauseNs, m);
    }

    private static long migrate(SimHypervisor from, SimHypervisor to, long khz, long offset, long pauseNs, RestoreMethod m) {
        Vm src = from.createVm(VmConfig.defaults());
        if (khz != 0) {
            src.setTscKhz(khz);
        }
        Vcpu v = src.createVcpu(0);
        if (offset != 0) {
            v.setTscOffset(v.getTscOffset() + offset);
        }
        ClockGuest g = ClockGuest.boot(src, v);
        g.readTsc();
        from.elapse(1_000_000_000L);
        long tLast = g.readTsc();
        PvclockTimeInfo before = g.readPvclock();
        ClockState saved = ClockCapture.capture(from, src, List.of(g.vcpu()), x -> g.readPvclock(),
                from == to ? CaptureKind.LIVE_UPDATE : CaptureKind.MIGRATION);
        ClockGuest.Snapshot snap = g.pause(true);
        to.elapse(pauseNs);
        Vm dst = to.createVm(VmConfig.defaults());
        ClockGuest d = ClockGuest.resume(dst, DemoRunner.createVcpu(to, dst, m, saved), snap);
        DemoRunner.Restored r = DemoRunner.restoreAndMeasure(to, m, saved, before.read(tLast), d,
                from == to ? Placement.Kind.SAME_BOOT : Placement.Kind.MIGRATION);
        TrialResult.Measured t = Outcomes.measured(r.result());
        assertFalse(t.steppedBackwards());
        assertFalse(t.fellBack(), m.name() + " fell back: " + t.notes());
        assertEquals(khz == 0 ? from.host().tscKhz() : khz, d.vcpu().getTscKhz());
        if (m instanceof PreciseMethod) {
            assertEquals(0, r.report().orElseThrow().residualNs().orElseThrow());
        }
        src.close();
        dst.close();
        if (m instanceof PreciseMethod) {
            PRECISE_ROUNDS.add(r.report().orElseThrow().rounds());
        }
        return t.kvmclockErrorNs();
    }

    /** The KVM_SET_CLOCK rounds of every precise restore of the replays, in order, for the table's notes. */
    private static final List<Integer> PRECISE_ROUNDS = Collections.synchronizedList(new ArrayList<>());
}
