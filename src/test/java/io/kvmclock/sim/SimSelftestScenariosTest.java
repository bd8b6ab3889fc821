package io.kvmclock.sim;

import static org.junit.jupiter.api.Assertions.*;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TscScaling;
import io.kvmclock.time.Units;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The kernel selftests of the KVM_[GS]ET_CLOCK_GUEST series, replayed on the model. */
class SimSelftestScenariosTest {

    private static final long HOST_KHZ = SimHostConfig.kvmIntel().tscKhz();

    /** kvmclock the guest sees now minus what {@code saved} says for the same guest TSC. */
    private static long errorAgainst(PvclockTimeInfo saved, Vm vm, Vcpu v) {
        GuestProbe.Reading r = GuestProbe.read(vm, v);
        return r.kvmclock() - saved.read(r.tsc());
    }

    @Test
    void pvclockTestAt1To5GHzWithScaling() {
        for (TscScaling vendor : TscScaling.values()) {
            SimHostConfig cfg = SimHostConfig.kvmIntel().withLatency(new Latency(new Distribution.Fixed(310), new Distribution.Fixed(46), new Distribution.Fixed(8400))).withScaling(Optional.of(vendor)).withClockGuest(true);
            for (long khz = 1_000_000; khz <= 5_000_000; khz += 500_000) {
                try (SimHypervisor hv = SimHypervisor.create(cfg, khz)) {
                    Vm vm = hv.createVm(VmConfig.defaults());
                    vm.setTscKhz(khz);
                    Vcpu v = vm.createVcpu(0);
                    assertEquals(khz, v.getTscKhz());
                    GuestProbe.start(v);
                    GuestProbe.readTsc(v);
                    long t0 = v.getMsr(Vcpu.MSR_IA32_TSC);
                    hv.elapse(1_000_000_000L);
                    long t1 = v.getMsr(Vcpu.MSR_IA32_TSC);
                    long cycles = t1 - t0;
                    assertTrue(Math.abs(cycles - khz * 1000) < khz / 100, "guest TSC runs at " + khz + " kHz: " + cycles + " cycles in 1 s + one ioctl");

                    PvclockTimeInfo saved = v.getClockGuest();
                    ClockData data = vm.getClock();
                    hv.elapse(10_000_000L);
                    vm.setClock(data);
                    long plain = errorAgainst(saved, vm, v);
                    v.setClockGuest(saved);
                    long precise = errorAgainst(saved, vm, v);
                    PvclockTimeInfo now = GuestProbe.pvclock(vm);
                    long atReference = now.read(now.tscTimestamp()) - saved.read(now.tscTimestamp());
                    System.out.printf("%s guest %d kHz: KVM_SET_CLOCK(REALTIME) error %d ns, KVM_SET_CLOCK_GUEST error %d ns"
                            + " at the new reference, %d ns at the guest's next read%n", vendor, khz, plain, atReference, precise);
                    assertTrue(Math.abs(atReference) <= 1, "clock-guest restore within +-1 ns, got " + atReference);
                    assertTrue(Math.abs(precise) <= 2,
                            "two pvclocks with different references differ by pvclock_scale_delta's rounding only (+-2 ns, as the selftest allows): " + precise);
                    assertNotEquals(0, plain, "a plain KVM_SET_CLOCK cannot restore the function exactly");
                    assertTrue(Math.abs(plain) < 1_000_000, "plain restore error stays below 1 ms: " + plain);
                }
            }
        }
    }

    @Test
    void pvclockMigrationTest1500MHzGuestOneSecondPause() {
        long guestKhz = 1_500_000;
        SimHostConfig src = SimHostConfig.kvmIntel().withLatency(Latency.none()).withScaling(Optional.of(TscScaling.VMX)).withClockGuest(true);
        try (SimHypervisor a = SimHypervisor.create(src, 42)) {
            SimHypervisor b = a.peer(src.withName("dest").withTsc(2_995_200, 2_995_200_000L)
                    .withTscAtStart(987_654_321_000L).withRealtimeAtStart(a.readHostClocks().realtimeNs()));
            Vm vmA = a.createVm(VmConfig.defaults());
            vmA.setTscKhz(guestKhz);
            Vcpu va = vmA.createVcpu(0);
            GuestProbe.start(va);
            GuestProbe.readTsc(va);
            a.elapse(5_000_000_000L);

            GuestProbe.Reading last = GuestProbe.read(vmA, va);
            long trueAtPause = a.now();
            PvclockTimeInfo saved = va.getClockGuest();
            ClockData k0 = vmA.getClock();
            long t0 = k0.hostTsc();
            long guestAtT0 = TscScaling.VMX.scale(t0, TscScaling.VMX.ratio(guestKhz, src.tscKhz())) + va.getTscOffset();
            vmA.close();

            b.elapse(1_000_000_000L);

            Vm vmB = b.createVm(VmConfig.defaults());
            vmB.setTscKhz(guestKhz);
            Vcpu vb = vmB.createVcpu(0);
            vmB.setClock(new ClockData(k0.clock(), ClockData.REALTIME, k0.realtime(), 0));
            ClockData k1 = vmB.getClock();
            long guestAtT1 = guestAtT0 + Units.nsToCycles(k1.clock() - k0.clock(), guestKhz);
            long scaledT1 = TscScaling.VMX.scale(k1.hostTsc(), TscScaling.VMX.ratio(guestKhz, 2_995_200));
            vb.setTscOffset(guestAtT1 - scaledT1);
            vb.setClockGuest(saved);
            GuestProbe.start(vb);
            GuestProbe.Reading first = GuestProbe.read(vmB, vb);
            long error = first.kvmclock() - saved.read(first.tsc());
            long advance = first.kvmclock() - last.kvmclock();
            long trueElapsed = b.now() - trueAtPause;
            System.out.printf("migration 1.5 GHz guest, 1 s pause: function error %d ns, kvmclock advanced %d ns over %d ns%n",
                    error, advance, trueElapsed);
            assertTrue(Math.abs(error) <= 1, "kvmclock stays the same function of the guest TSC: " + error);
            assertEquals(guestKhz, vb.getTscKhz());
            assertTrue(Math.abs(advance - trueElapsed) < 100_000, "the guest saw the pause: " + advance + " vs " + trueElapsed);
        }
    }
}
